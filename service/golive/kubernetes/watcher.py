"""`golive watch-kubernetes`: list then watch Deployments, ReplicaSets and Pods in some
namespaces, feed the rollout mapping, produce what it emits to golive's topic.

One task per (namespace, kind) lists, then watches from the list's resourceVersion; a
`410 Gone` (the version fell out of the API server's window) re-lists that kind and
resyncs the mapping, which treats what disappeared as deleted. Unreachable API server:
capped backoff, then resume from the last resourceVersion seen. Every observation goes
through one queue to one task that owns the mapping and the producer, so the mapping
sees a single ordered stream and events leave in the order it decided them. A record the
broker does not take is retried until it does (or the watcher stops): a resent event has
the same (source, id) and golive applies it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from golive.clock import Clock, SystemClock
from golive.config import ConfigError, Settings
from golive.contract.http_binding import structured_record
from golive.emit.events import subject_of
from golive.ingest.consumer import Backoff, Stopping
from golive.ingest.kafka import BrokerUnavailableError
from golive.ingest.producer import EventProducer, OutgoingRecord, Produced
from golive.kubernetes import objects
from golive.kubernetes.api import (
    AccessDeniedError,
    KubernetesApi,
    KubernetesUnavailableError,
    Listing,
    ResourceVersionExpiredError,
    WatchEvent,
    load_configuration,
)
from golive.kubernetes.mapping import KINDS, Kind, MappingConfig, RolloutMapping

log = logging.getLogger("golive.kubernetes")

CHANGES = ("ADDED", "MODIFIED", "DELETED")


class Source(Protocol):
    """The Kubernetes API as the watcher uses it (`KubernetesApi`)."""

    async def list(self, kind: Kind, namespace: str) -> Listing: ...

    def watch(
        self, kind: Kind, namespace: str, resource_version: str, timeout_seconds: int
    ) -> Any: ...  # an async iterator of WatchEvent


class Sink(Protocol):
    async def send(self, records: Sequence[OutgoingRecord]) -> list[Produced]: ...


@dataclass(frozen=True, slots=True)
class _Resync:
    namespace: str
    lists: Mapping[Kind, Sequence[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class _Change:
    kind: Kind
    type: Any  # one of CHANGES
    object: dict[str, Any]


class KubernetesWatcher:
    def __init__(
        self,
        source: Source,
        mapping: RolloutMapping,
        sink: Sink,
        clock: Clock,
        namespaces: Sequence[str],
        kinds: Sequence[Kind] = KINDS,
        *,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
    ) -> None:
        self._source, self._mapping, self._sink, self._clock = source, mapping, sink, clock
        self._namespaces, self._kinds = list(namespaces), list(kinds)
        self._watch_timeout, self._max_backoff = watch_timeout, max_backoff
        # Observations applied to the mapping and events produced: for logs and tests.
        self.observed = 0
        self.produced = 0
        self._queue: asyncio.Queue[tuple[_Resync | _Change, Any]] = asyncio.Queue(10_000)

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set. Raises AccessDeniedError when a permission is missing
        (retrying would not help)."""
        await _until_first_done(
            [
                stop.wait(),
                self._apply(stop),
                *(self._follow(namespace, stop) for namespace in self._namespaces),
            ]
        )

    # --- reading the API ----------------------------------------------------------------

    async def _follow(self, namespace: str, stop: asyncio.Event) -> None:
        """List every kind first, so the mapping never judges a Deployment on half its
        pods, then watch each kind."""
        listings = {kind: await self._list(kind, namespace, stop) for kind in self._kinds}
        await self._put(_Resync(namespace, {k: v.items for k, v in listings.items()}))
        log.info(
            "watching namespace %s from %s",
            namespace,
            ", ".join(f"{len(v.items)} {k.lower()}s" for k, v in listings.items()),
        )
        await _until_first_done(
            [
                self._watch(kind, namespace, listing.resource_version, stop)
                for kind, listing in listings.items()
            ]
        )

    async def _list(self, kind: Kind, namespace: str, stop: asyncio.Event) -> Listing:
        backoff = Backoff(stop, initial=0.5, cap=self._max_backoff)
        while True:
            try:
                return await self._source.list(kind, namespace)
            except KubernetesUnavailableError as err:
                log.warning("%s; retrying in %.1f s", err, backoff.delay)
                await backoff.wait()

    async def _watch(self, kind: Kind, namespace: str, version: str, stop: asyncio.Event) -> None:
        backoff = Backoff(stop, initial=0.5, cap=self._max_backoff)
        while not stop.is_set():
            seen = 0
            try:
                stream = self._source.watch(kind, namespace, version, self._watch_timeout)
                async for event in stream:
                    assert isinstance(event, WatchEvent)
                    seen += 1
                    version = objects.resource_version(event.object) or version
                    backoff.reset()
                    if event.type in CHANGES:
                        await self._put(_Change(kind, event.type, event.object))
            except ResourceVersionExpiredError as err:
                log.info("%s: listing %s again", err, kind.lower() + "s")
                listing = await self._list(kind, namespace, stop)
                version = listing.resource_version
                await self._put(_Resync(namespace, {kind: listing.items}))
                continue
            except KubernetesUnavailableError as err:
                log.warning("%s; watching again in %.1f s", err, backoff.delay)
                await backoff.wait()
                continue
            if not seen:  # an empty watch ended at once: do not spin on a bad proxy
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def _put(self, item: _Resync | _Change) -> None:
        # Observed now: the events' time is when the watcher saw the change.
        await self._queue.put((item, self._clock.now()))

    # --- deciding and producing -----------------------------------------------------------

    async def _apply(self, stop: asyncio.Event) -> None:
        while True:
            item, at = await self._queue.get()
            if isinstance(item, _Resync):
                events = self._mapping.resync(item.namespace, item.lists, at)
            else:
                events = self._mapping.observe(item.kind, item.type, item.object, at)
            if events:
                await self._produce(events, stop)
            self.observed += 1

    async def _produce(self, events: Sequence[dict[str, Any]], stop: asyncio.Event) -> None:
        records = []
        for event in events:
            wire = structured_record(event)
            records.append(OutgoingRecord(subject_of(event).encode(), wire.value, wire.headers))
        backoff = Backoff(stop, initial=0.5, cap=self._max_backoff)
        while True:
            try:
                await self._sink.send(records)
                break
            except BrokerUnavailableError as err:
                log.warning("%s; retrying in %.1f s", err, backoff.delay)
                await backoff.wait()
        self.produced += len(events)
        for event in events:
            _log_event(event)


def _log_event(event: Mapping[str, Any]) -> None:
    kind = str(event["type"]).split(".")[3]
    content = event["data"]["subject"]["content"]
    if kind == "started":
        log.info(
            "rollout %s started: %s %s -> %s in %s (%d desired, %g%% healthy minimum)",
            event["subject"],
            content["service"],
            content["fromVersion"],
            content["toVersion"],
            content["environment"],
            content["desiredInstances"],
            content["minHealthyPercent"],
        )
    elif kind == "finished":
        log.info("rollout %s %s (%s)", event["subject"], content["outcome"], content["reason"])
    else:
        log.debug("rollout %s: %s", event["subject"], json.dumps(content))


async def _until_first_done(coroutines: Sequence[Coroutine[Any, Any, Any]]) -> None:
    """Run the coroutines until one returns or raises; cancel the others. `Stopping` (a
    backoff that saw the stop event) is a normal end; any other error is raised as is."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, Stopping):
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def mapping_config(settings: Settings) -> MappingConfig:
    return MappingConfig(
        source=f"/golive/watch-kubernetes/{settings.kubernetes_cluster}",
        default_environment=settings.kubernetes_environment,
        namespace_environments=settings.kubernetes_namespace_environments,
        count_pods=settings.kubernetes_watch_pods,
    )


async def run(
    settings: Settings,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    on_watcher: Callable[[KubernetesWatcher], None] | None = None,
) -> int:
    """`golive watch-kubernetes` until SIGTERM/SIGINT (or `stop`). Exit code 0 on a clean
    stop; a missing setting or permission raises ConfigError (the message says which)."""
    if not settings.kubernetes_namespaces:
        raise ConfigError(
            "no namespace to watch: give --namespace NS (repeatable) or "
            "GOLIVE_KUBERNETES_NAMESPACES=ns1,ns2"
        )
    settings.require_kafka()
    stop = stop or asyncio.Event()
    if handle_signals:
        from golive.app import install_signal_handlers

        install_signal_handlers(stop)
    configuration = await load_configuration(
        settings.kubernetes_kubeconfig, settings.kubernetes_context
    )
    api = KubernetesApi(configuration)
    producer = EventProducer(settings)
    kinds = KINDS if settings.kubernetes_watch_pods else ("Deployment", "ReplicaSet")
    watcher = KubernetesWatcher(
        api,
        RolloutMapping(mapping_config(settings)),
        producer,
        clock or SystemClock(),
        settings.kubernetes_namespaces,
        kinds,
    )
    if on_watcher is not None:
        on_watcher(watcher)
    log.info(
        "golive watch-kubernetes: namespaces %s, producing to %s",
        ", ".join(settings.kubernetes_namespaces),
        producer.topic,
    )
    try:
        await watcher.run(stop)
    except AccessDeniedError as err:
        raise ConfigError(str(err)) from None
    finally:
        await producer.close()
        await api.close()
    log.info(
        "stopped after %d observations, %d events produced", watcher.observed, watcher.produced
    )
    return 0
