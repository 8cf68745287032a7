"""Sending events to golive: over HTTP (`POST /api/v1/events`) or straight to Kafka.

Both check an event before it leaves: over HTTP golive answers with each rejection's
reason; to Kafka the event is first decoded here exactly as golive will decode it, since a
rejected record would only show up in the dead-letter topic. Both retry what can be
retried (a broker or golive that is away, 429) until `timeout`; resending is safe because
golive applies an event once per (source, id).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from golive.config import Settings
from golive.contract import DEFAULT_MAX_EVENT_BYTES, Rejection, decode_record
from golive.contract.http_binding import BATCH_MEDIA_TYPE, structured_record
from golive.emit.events import subject_of
from golive.ingest.kafka import BrokerUnavailableError
from golive.ingest.producer import EventProducer, OutgoingRecord

RETRIED_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"event {self.index}: {self.kind}: {self.reason}"


class EmitError(Exception):
    """The events were not sent. `rejected` lists each refused event (empty when the
    failure was not about the events: golive or the broker away, a wrong token...)."""

    def __init__(self, message: str, rejected: Sequence[Rejected] = ()) -> None:
        super().__init__(message)
        self.rejected = list(rejected)


class HttpEmitter:
    """Sends CloudEvents to golive's `POST /api/v1/events` as one batch.

    `async with HttpEmitter("https://golive.example.com", token) as emitter:
        await emitter.send([event])`
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/api/v1/events"
        self._token = token
        self._timeout = timeout
        self._client = client or httpx.AsyncClient(timeout=30.0)
        self._owns_client = client is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Send `events`; return golive's account of each (id, topic, partition, offset)."""
        headers = {"Content-Type": BATCH_MEDIA_TYPE}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = json.dumps(list(events)).encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        delay = 0.5
        while True:
            try:
                response = await self._client.post(self._endpoint, content=body, headers=headers)
            except httpx.HTTPError as err:
                problem = f"cannot reach {self._endpoint}: {err}"
            else:
                if response.status_code == 202:
                    accepted: list[dict[str, Any]] = response.json()["events"]
                    return accepted
                problem = _problem(response)
                if response.status_code not in RETRIED_STATUSES:
                    raise EmitError(problem, _rejections(response))
                delay = max(delay, _retry_after(response))
            if loop.time() + delay > deadline:
                raise EmitError(f"{problem} (gave up after {self._timeout:.0f} s)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


class KafkaEmitter:
    """Produces events to golive's events topic, keyed by subject id, after checking them
    as golive will (`decode_record`): nothing golive would dead-letter leaves."""

    def __init__(self, settings: Settings, *, timeout: float = 60.0) -> None:
        settings.require_kafka()
        self._producer = EventProducer(settings, timeout=15.0)
        self._max_bytes = settings.max_event_bytes
        self._timeout = timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._producer.close()

    async def send(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        rejected = check_events(events, self._max_bytes)
        if rejected:
            raise EmitError(f"{len(rejected)} of {len(events)} event(s) rejected", rejected)
        wire = [structured_record(event) for event in events]
        records = [
            OutgoingRecord(subject_of(event).encode(), r.value, r.headers)
            for event, r in zip(events, wire, strict=True)
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while True:
            try:
                stored = await self._producer.send(records)
                break
            except BrokerUnavailableError as err:
                if loop.time() + 1.0 > deadline:
                    raise EmitError(f"{err} (gave up after {self._timeout:.0f} s)") from None
                await asyncio.sleep(1.0)
        return [
            {"id": e.get("id"), "topic": p.topic, "partition": p.partition, "offset": p.offset}
            for e, p in zip(events, stored, strict=True)
        ]


def check_events(
    events: Sequence[Mapping[str, Any]], max_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> list[Rejected]:
    """What golive would reject among `events`, decoded exactly as golive decodes them."""
    rejected = []
    for index, event in enumerate(events):
        record = structured_record(event)
        decoded = decode_record(record.value, record.headers, max_bytes=max_bytes)
        if isinstance(decoded, Rejection):
            rejected.append(Rejected(index, str(decoded.kind), decoded.reason))
    return rejected


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return f"golive answered {response.status_code}: {detail}"


def _rejections(response: httpx.Response) -> list[Rejected]:
    try:
        items = response.json().get("rejected") or []
        return [Rejected(int(r["index"]), str(r["kind"]), str(r["reason"])) for r in items]
    except (ValueError, AttributeError, KeyError, TypeError):
        return []


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 1.0
