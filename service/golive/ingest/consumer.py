"""The ingest loop: Kafka batch -> decode -> dead letters -> one Postgres transaction
-> Kafka commit -> metrics (STYLE rule 6: commit is a decision, in that order).

Postgres holds the truth about offsets: on assignment each partition seeks to the
offset stored with the state (or the beginning if none is stored), so Kafka's
committed offsets only serve lag tools. A failure anywhere before the Postgres commit
leaves nothing behind: the batch is retried (with capped backoff) until it commits or
the service stops, in which case the next owner of the partition reprocesses it and
the events table drops what was already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition  # type: ignore[import-untyped]
from aiokafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]

from golive.clock import Clock
from golive.config import Settings
from golive.contract import Rejection, RejectionKind, decode_record
from golive.contract.types import metric_type_label
from golive.domain.catalog import Catalog
from golive.health import Health
from golive.ingest.dead_letters import DeadLetter, send_dead_letters
from golive.ingest.kafka import BROKER_ERRORS, make_consumer, make_producer
from golive.metrics.ingest import IngestMetrics
from golive.store.batches import (
    BatchResult,
    Conflict,
    IncomingEvent,
    Plan,
    commit,
    load_offsets,
    prepare,
    reset_offsets,
    write_batch,
)
from golive.store.cache import EntityCache, Entry
from golive.store.db import Connection, translated
from golive.store.errors import StoreRejectedError, StoreUnavailableError
from golive.store.projections import BY_FIELD, read

log = logging.getLogger(__name__)

T = TypeVar("T")
FETCH_TIMEOUT_MS = 500
KAFKA_COMMIT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 3.0
# aiokafka's fetches come back empty, not failing, while the broker is down: an idle
# consumer asks the broker for metadata this often, so readiness reports the outage.
BROKER_PROBE_INTERVAL = 5.0
# Headers kept in the events table: the CloudEvents ones and the content type.
KEPT_HEADER_PREFIXES = ("ce_", "content-type")
# Records decoded between two yields to the event loop (about 0.5 ms of work): the
# batch being written goes on meanwhile, each of its round trips waiting for the slice.
DECODE_SLICE = 25


class Stopping(Exception):
    """The service is stopping while a retry loop was waiting."""


@dataclass(slots=True)
class Fetched:
    """A batch as fetched (records by partition), decoded."""

    batch: dict[TopicPartition, list[Any]]
    generation: int  # `Ingestor._generation` when the fetch began
    incoming: list[IncomingEvent] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next, by partition
    plan: Plan | None = None  # prepared ahead, while the batch before it was written


class Backoff:
    """Capped exponential backoff that waits on the stop event, never on a bare sleep."""

    def __init__(self, stop: asyncio.Event, initial: float = 0.2, cap: float = 10.0) -> None:
        self.stop, self.initial, self.cap = stop, initial, cap
        self.delay = initial

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=self.delay)
        self.delay = min(self.delay * 2, self.cap)
        if self.stop.is_set():
            raise Stopping

    def reset(self) -> None:
        self.delay = self.initial


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        catalog: Catalog,
        metrics: IngestMetrics,
        health: Health,
        clock: Clock,
    ) -> None:
        self.settings, self.pool, self.catalog = settings, pool, catalog
        self.metrics, self.health, self.clock = metrics, health, clock
        # Held while a batch is in hand; a revoke waits for it (commit before giving up).
        self._batch_lock = asyncio.Lock()
        self._positions: dict[tuple[str, int], int] = {}
        # Bumped on every assignment: a batch fetched before it may predate a seek.
        self._generation = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._kafka_commit: asyncio.Task[None] | None = None  # the latest, maybe in flight
        self._probed_at = float("-inf")
        self._cache = EntityCache(settings.entity_cache_size)

    # --- lifecycle ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then finish the batch in hand and close."""
        try:
            consumer, producer = await self._retry(lambda: self._connect(stop), "broker", stop)
        except Stopping:
            return
        try:
            self.health.report("consuming", True)
            log.info(
                "consuming %s as group %s", self.settings.kafka_topics, self.settings.kafka_group_id
            )
            await self._consume(consumer, producer, stop)
        except Stopping:
            pass
        finally:
            self.health.report("consuming", False, "stopped")
            await _close(consumer, producer)
            log.info("consumer closed")

    async def _consume(
        self, consumer: AIOKafkaConsumer, producer: Any, stop: asyncio.Event
    ) -> None:
        """Fetch, decode and write batches until `stop`. The next batch is fetched,
        decoded and folded (`store.batches.prepare`) while the one in hand is written:
        that work then runs while this process waits on Postgres (docs/performance.md)."""
        backoff = Backoff(stop)
        ahead: asyncio.Task[Fetched] | None = None
        try:
            while not stop.is_set():
                try:
                    fetched = await (ahead or self._fetch_and_decode(consumer, stop))
                except BROKER_ERRORS as err:
                    self._failed("broker", err)
                    await backoff.wait()
                    continue
                finally:
                    ahead = None
                backoff.reset()
                self.health.report("broker", True)
                await self._follow_shortened_logs(consumer, stop)
                if fetched.batch:
                    # Not before the check above: it may seek, and a fetch in flight then
                    # would belong to neither side of the seek. Nor for a stale batch, whose
                    # handling seeks: the fetch ahead would be stale too.
                    if fetched.generation == self._generation:
                        ahead = asyncio.create_task(self._fetch_and_decode(consumer, stop))
                    await self._handle(consumer, producer, fetched, stop)
                self._update_lag(consumer)
        finally:
            if ahead is not None:
                # Fetched but not handled: fetched again from the stored offsets by
                # whoever consumes these partitions next. Its plan is in the cache.
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Stopping, *BROKER_ERRORS):
                    await ahead
                self._cache.invalidate()
            if self._kafka_commit is not None:
                # Bounded by KAFKA_COMMIT_TIMEOUT; before the consumer closes.
                await asyncio.wait({self._kafka_commit})

    async def _fetch_and_decode(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> Fetched:
        # Taken before the fetch: a batch fetched across a rebalance is stale (`_handle`).
        generation = self._generation
        batch = await self._fetch(consumer, stop)
        fetched = Fetched(batch, generation)
        not_after = self.clock.now() + self.settings.max_clock_skew
        for tp, records in batch.items():
            for start in range(0, len(records), DECODE_SLICE):
                for record in records[start : start + DECODE_SLICE]:
                    self._decode(tp, record, fetched.incoming, fetched.letters, not_after)
                # Let the batch being written go on between slices: its round trips to
                # Postgres come back while this decodes.
                await asyncio.sleep(0)
            fetched.offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
        if fetched.incoming:
            # If Postgres is out of reach now, prepared again when written, with retries.
            with contextlib.suppress(StoreUnavailableError):
                fetched.plan = await self._prepare(fetched.incoming, None)
        return fetched

    async def _prepare(self, incoming: Sequence[IncomingEvent], conn: Connection | None) -> Plan:
        """Fold a batch onto the cached entities; those not cached are read on `conn`, or
        on a connection of the pool (the batch before may hold another meanwhile)."""

        async def read_rows(name: str, keys: list[Any]) -> dict[Any, Entry]:
            if conn is not None:
                return await read(conn, BY_FIELD[name], keys)
            async with translated(), self.pool.acquire() as reader:
                return await read(reader, BY_FIELD[name], keys)

        async with translated():
            return await prepare(
                incoming, catalog=self.catalog, cache=self._cache, read_rows=read_rows
            )

    async def _fetch(
        self, consumer: AIOKafkaConsumer, stop: asyncio.Event
    ) -> dict[TopicPartition, list[Any]]:
        """`getmany`, abandoned when the service stops: while the group rebalances it can
        wait for an assignment well past its own timeout."""
        fetching = consumer.getmany(
            timeout_ms=FETCH_TIMEOUT_MS, max_records=self.settings.kafka_max_batch
        )
        # Records fetched but not handled are fetched again by the next owner.
        batch: dict[TopicPartition, list[Any]] = await _unless_stopped(fetching, stop) or {}
        if not batch and self.clock.monotonic() - self._probed_at >= BROKER_PROBE_INTERVAL:
            self._probed_at = self.clock.monotonic()
            # Raises a broker error when it cannot be reached; abandoned on stop, as an
            # unreachable broker holds it for the whole request timeout.
            await _unless_stopped(consumer.topics(), stop)
        return batch

    async def _connect(self, stop: asyncio.Event) -> tuple[AIOKafkaConsumer, Any]:
        """Fresh clients per attempt: a client whose start failed is not reused."""
        consumer = make_consumer(self.settings)
        producer = make_producer(self.settings)
        consumer.subscribe(self.settings.kafka_topics, listener=_Rebalance(self, stop))
        self._consumer = consumer
        try:
            await producer.start()
            await consumer.start()
        except BaseException:
            await _close(consumer, producer)
            raise
        self.health.report("broker", True)
        return consumer, producer

    # --- one batch -----------------------------------------------------------------------

    async def _handle(
        self, consumer: AIOKafkaConsumer, producer: Any, fetched: Fetched, stop: asyncio.Event
    ) -> None:
        started = self.clock.monotonic()
        batch, incoming, letters, offsets = (
            fetched.batch,
            fetched.incoming,
            fetched.letters,
            fetched.offsets,
        )
        async with self._batch_lock:
            if fetched.generation != self._generation:
                # Partitions were reassigned after this batch was fetched, so it may come
                # from before or after their seek: drop it and seek again to the offsets
                # stored with the state, from where its records are fetched again.
                log.info("dropping a batch fetched during a rebalance")
                if fetched.plan is not None:
                    self._cache.invalidate()  # it holds the plan that is dropped
                await self._load_and_seek(list(consumer.assignment()), stop)
                return
            await self._follow_log_resets(batch, stop)
            if letters:
                now = self.clock.now()
                await self._retry(
                    lambda: send_dead_letters(
                        producer, self.settings.kafka_dlq_topic, letters, now
                    ),
                    "broker",
                    stop,
                )
            try:
                result = await self._retry(
                    lambda: self._write(incoming, offsets, producer, fetched), "database", stop
                )
            except StoreRejectedError as err:
                log.error("Postgres refused a batch (%s): isolating the event(s) it refuses", err)
                result = await self._write_isolating(producer, incoming, offsets, stop)
            self._positions.update(offsets)
        self._record(result, incoming, letters, started)
        self._commit_kafka_later(consumer, offsets)

    def _decode(
        self,
        tp: TopicPartition,
        record: Any,
        incoming: list[IncomingEvent],
        letters: list[DeadLetter],
        not_after: datetime,
    ) -> None:
        headers = [(k, v) for k, v in (record.headers or ()) if v is not None]
        result = decode_record(
            record.value, headers, max_bytes=self.settings.max_event_bytes, not_after=not_after
        )
        if isinstance(result, Rejection):
            letters.append(
                DeadLetter(
                    tp.topic, tp.partition, record.offset, record.key, record.value, headers, result
                )
            )
            return
        kept = [
            (k, v.decode("utf-8", "replace"))
            for k, v in headers
            if k.lower().startswith(KEPT_HEADER_PREFIXES)
        ]
        incoming.append(
            IncomingEvent(result, record.value, kept, tp.topic, tp.partition, record.offset)
        )

    async def _write(
        self,
        incoming: Sequence[IncomingEvent],
        offsets: dict[tuple[str, int], int],
        producer: Any,
        fetched: Fetched | None = None,
    ) -> BatchResult:
        """Commit a batch: with its plan from `fetched` if that plan is still current,
        else prepared again first. Without `fetched`, alone, with no cache (the isolating
        path)."""

        async def dead_letter(conflicts: Sequence[Conflict]) -> None:
            # Inside the batch's transaction: if the send fails, nothing commits and the
            # batch is retried, so a conflict is never skipped without its dead letter.
            letters = [_conflict_letter(c) for c in conflicts]
            now = self.clock.now()
            await send_dead_letters(producer, self.settings.kafka_dlq_topic, letters, now)

        async with translated(), self.pool.acquire() as conn:
            if fetched is None:
                result = await write_batch(
                    conn,
                    incoming,
                    offsets,
                    group_id=self.settings.kafka_group_id,
                    catalog=self.catalog,
                    on_conflicts=dead_letter,
                )
            else:
                plan, prepared_again = fetched.plan, False
                if plan is None or not plan.is_current(self._cache):
                    plan, prepared_again = await self._prepare(incoming, conn), True
                fetched.plan = None  # a failed commit invalidated what it prepared
                result = await commit(
                    conn,
                    plan,
                    offsets,
                    group_id=self.settings.kafka_group_id,
                    catalog=self.catalog,
                    cache=self._cache,
                    on_conflicts=dead_letter,
                )
                if prepared_again:
                    result = replace(result, refolded=True)
        self.health.report("database", True)
        return result

    async def _write_isolating(
        self,
        producer: Any,
        incoming: Sequence[IncomingEvent],
        offsets: dict[tuple[str, int], int],
        stop: asyncio.Event,
    ) -> BatchResult:
        """One event per transaction; those Postgres refuses are dead-lettered, so that a
        poison record never wedges its partition."""
        self._cache.invalidate()  # it holds the refused batch's plan
        result = BatchResult()
        refused: list[DeadLetter] = []
        for item in incoming:
            try:
                one = await self._retry(
                    lambda item=item: self._write([item], {}, producer),  # type: ignore[misc]
                    "database",
                    stop,
                )
            except StoreRejectedError as err:
                reason = Rejection(
                    RejectionKind.STORE_REFUSED, f"Postgres refused the event: {err}"
                )
                refused.append(_letter_of(item, reason, key=None))
                continue
            result.applied.update(one.applied)
            result.duplicates.update(one.duplicates)
            result.conflicts.extend(one.conflicts)
        if refused:
            now = self.clock.now()
            await self._retry(
                lambda: send_dead_letters(producer, self.settings.kafka_dlq_topic, refused, now),
                "broker",
                stop,
            )
            self.metrics.events.labels("unknown", "dead_lettered").inc(len(refused))
            self.metrics.dead_letters.labels(str(RejectionKind.STORE_REFUSED)).inc(len(refused))
        await self._retry(lambda: self._write([], offsets, producer), "database", stop)
        return result

    def _commit_kafka_later(
        self, consumer: AIOKafkaConsumer, offsets: dict[tuple[str, int], int]
    ) -> None:
        """Commit to Kafka while the next batch is written: that round trip no longer
        holds Postgres idle between two batches. Each commit waits for the one before
        it, so a later offset is never overwritten by an earlier one."""
        before = self._kafka_commit

        async def commit_after() -> None:
            if before is not None:
                await asyncio.wait({before})
            await self._commit_kafka(consumer, offsets)

        self._kafka_commit = asyncio.create_task(commit_after())

    async def _commit_kafka(
        self, consumer: AIOKafkaConsumer, offsets: dict[tuple[str, int], int]
    ) -> None:
        """Best effort: Postgres already holds the offsets; Kafka's copy is for lag tools."""
        commit = {TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in offsets.items()}
        try:
            await asyncio.wait_for(consumer.commit(commit), KAFKA_COMMIT_TIMEOUT)
        except (*BROKER_ERRORS, TimeoutError) as err:
            log.info(
                "kafka offset commit skipped (%s); Postgres holds the offsets", type(err).__name__
            )

    def _record(
        self,
        result: BatchResult,
        incoming: Sequence[IncomingEvent],
        letters: Sequence[DeadLetter],
        started: float,
    ) -> None:
        self.metrics.count(result.applied, "applied")
        self.metrics.count(result.duplicates, "duplicate")
        for conflict in result.conflicts:
            self.metrics.events.labels(
                metric_type_label(conflict.incoming.event.name), "dead_lettered"
            ).inc()
            self.metrics.dead_letters.labels(str(RejectionKind.ID_CONFLICT)).inc()
        if letters:
            self.metrics.events.labels("unknown", "dead_lettered").inc(len(letters))
            for letter in letters:
                self.metrics.dead_letters.labels(str(letter.rejection.kind)).inc()
        now = self.clock.now()
        self.metrics.observe_lags(
            [max(0.0, (now - item.event.time).total_seconds()) for item in incoming]
        )
        self.metrics.batch_size.observe(len(incoming) + len(letters))
        if result.refolded:
            self.metrics.refolds.inc()
        self.metrics.batch_duration.observe(self.clock.monotonic() - started)

    # --- helpers -------------------------------------------------------------------------

    async def _retry(
        self, attempt: Callable[[], Awaitable[T]], component: str, stop: asyncio.Event
    ) -> T:
        backoff = Backoff(stop)
        while True:
            try:
                return await attempt()
            except (StoreUnavailableError, *BROKER_ERRORS) as err:
                self._failed(component, err)
                await backoff.wait()

    def _failed(self, component: str, err: BaseException) -> None:
        self.metrics.errors.labels(component).inc()
        self.health.report(component, False, f"{type(err).__name__}: {err}")
        log.warning("%s unavailable, retrying: %s: %s", component, type(err).__name__, err)

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        self.metrics.set_lag(
            {
                (tp.topic, tp.partition): max(0, end - position)
                for tp, end, position in self._ends_and_positions(consumer)
            }
        )

    def _ends_and_positions(
        self, consumer: AIOKafkaConsumer
    ) -> list[tuple[TopicPartition, int, int]]:
        """(partition, log end as the last fetch reported it, position) of each assigned
        partition for which both are known."""
        known = []
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            position = self._positions.get((tp.topic, tp.partition))
            if end is not None and position is not None:
                known.append((tp, end, position))
        return known

    async def seek_to_stored(self, assigned: Sequence[TopicPartition], stop: asyncio.Event) -> None:
        """Position each assigned partition at the offset stored with the state."""
        if self._consumer is None or not assigned:
            return
        async with self._batch_lock:  # no batch commits between loading and seeking
            stored = await self._load_and_seek(assigned, stop)
        log.info(
            "assigned %s",
            {
                f"{tp.topic}[{tp.partition}]": stored.get((tp.topic, tp.partition), "beginning")
                for tp in assigned
            },
        )

    async def _load_and_seek(
        self, assigned: Sequence[TopicPartition], stop: asyncio.Event
    ) -> dict[tuple[str, int], int]:
        """Seek to the stored offsets; the caller holds the batch lock."""
        keys = [(tp.topic, tp.partition) for tp in assigned]

        async def load() -> dict[tuple[str, int], int]:
            async with translated(), self.pool.acquire() as conn:
                return await load_offsets(conn, self.settings.kafka_group_id, keys)

        stored = await self._retry(load, "database", stop)
        self._seek(assigned, stored)
        # After the seek: any batch fetched before this point is stale.
        self._generation += 1
        return stored

    async def _follow_log_resets(
        self, batch: dict[TopicPartition, list[Any]], stop: asyncio.Event
    ) -> None:
        """A partition read from below its position: its log was lost while this instance
        consumed it, and the client started it again from the beginning."""
        moved = {
            (tp.topic, tp.partition): (
                records[0].offset,
                f"records from offset {records[0].offset}, below the position "
                f"{self._positions[(tp.topic, tp.partition)]}",
            )
            for tp, records in batch.items()
            if records[0].offset < self._positions.get((tp.topic, tp.partition), 0)
        }
        await self._set_back(moved, stop)

    async def _follow_shortened_logs(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """A partition whose log now ends below the position: its log was lost (a broker
        that lost its storage, a topic recreated) and a fetch from the position would wait
        for the new log to pass it, skipping its first records. Such partitions are read
        again from their beginning.

        Kafka answers such a fetch with OFFSET_OUT_OF_RANGE and the client restarts from
        the beginning by itself (`_follow_log_resets`); some brokers (Tansu) answer with no
        record and the log's end, which this catches. The end is the one a fetch reported
        (`highwater`), not a ListOffsets answer: Tansu's counts batches, not records. It
        cannot be stale in a way that misleads: aiokafka starts each assignment with none,
        and each record handled came with an end past its own offset.
        """

        def shortened() -> dict[TopicPartition, tuple[int, int]]:
            return {
                tp: (end, position)
                for tp, end, position in self._ends_and_positions(consumer)
                if end < position
            }

        if not shortened():
            return
        async with self._batch_lock:
            found = shortened()  # again: a rebalance may have come in between
            await self._set_back(
                {
                    (tp.topic, tp.partition): (
                        0,
                        f"the log ends at offset {end}, below the position {position}",
                    )
                    for tp, (end, position) in found.items()
                },
                stop,
            )
            for tp in found:
                consumer.seek(tp, 0)
                self._positions[(tp.topic, tp.partition)] = 0

    async def _set_back(
        self, partitions: dict[tuple[str, int], tuple[int, str]], stop: asyncio.Event
    ) -> None:
        """Follow a new log on `partitions` (offset to read from, what showed it): a broker
        that lost its storage, or a topic deleted and created again. Their stored offsets,
        which never move back otherwise, are set back to match, or the next owner of the
        partition would seek past the new log's records. What was applied already comes
        again and is recognised as duplicate."""
        if not partitions:
            return
        for (topic, partition), (offset, shown_by) in partitions.items():
            log.warning(
                "%s[%d]: %s: the log was lost or the topic recreated; reading it from offset %d",
                topic,
                partition,
                shown_by,
                offset,
            )
            self.metrics.offset_resets.labels(topic).inc()
        offsets = {key: offset for key, (offset, _) in partitions.items()}

        async def reset() -> None:
            async with translated(), self.pool.acquire() as conn:
                await reset_offsets(conn, self.settings.kafka_group_id, offsets)

        await self._retry(reset, "database", stop)

    def _seek(self, assigned: Sequence[TopicPartition], stored: dict[tuple[str, int], int]) -> None:
        assert self._consumer is not None
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                # Nothing of this partition is in the database yet: read it all.
                self._consumer.seek(tp, 0)
            else:
                self._consumer.seek(tp, offset)
                self._positions[(tp.topic, tp.partition)] = offset

    async def revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self._batch_lock:  # let the batch in hand commit first
            pass
        gone = [(tp.topic, tp.partition) for tp in revoked]
        for key in gone:
            self._positions.pop(key, None)
        self.metrics.forget_partitions(gone)


def _conflict_letter(conflict: Conflict) -> DeadLetter:
    item = conflict.incoming
    return _letter_of(
        item,
        Rejection(RejectionKind.ID_CONFLICT, conflict.reason),
        key=item.event.subject_id.encode(),
    )


def _letter_of(item: IncomingEvent, reason: Rejection, key: bytes | None) -> DeadLetter:
    """The dead letter of an event that was decoded, from what the batch kept of its record."""
    return DeadLetter(
        item.topic or "",
        item.partition or 0,
        item.offset or 0,
        key,
        item.payload,
        [(k, v.encode()) for k, v in item.headers],
        reason,
    )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, ingestor: Ingestor, stop: asyncio.Event) -> None:
        self.ingestor, self.stop = ingestor, stop

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        await self.ingestor.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        with contextlib.suppress(Stopping):
            await self.ingestor.seek_to_stored(assigned, self.stop)


async def _unless_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`awaitable`'s result, or None if the service stops first (it is then cancelled)."""
    running = asyncio.ensure_future(awaitable)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # Cancelled itself (the fetch ahead, when ingest stops): nothing left running.
        running.cancel()
        stopping.cancel()
        raise
    stopping.cancel()
    if not running.done():
        running.cancel()
        return None
    return running.result()


async def _close(consumer: AIOKafkaConsumer, producer: Any) -> None:
    # The producer first: it stops at once, while a consumer leaving a rebalancing group
    # can use up the shutdown grace, and a task cancelled then would leave the producer
    # open (its sockets leak and aiokafka warns when it is collected).
    for client in (producer, consumer):
        # Bounded: with the broker gone or a group rebalancing, leaving could wait for
        # nothing. `asyncio.wait`, not `wait_for`: the latter would then wait for the
        # cancellation, which aiokafka does not always honour promptly.
        closing = asyncio.ensure_future(client.stop())
        done, _ = await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT)
        if not done:
            log.warning(
                "closing %s took over %.0f s: abandoned", type(client).__name__, CLOSE_TIMEOUT
            )
            closing.cancel()
            _drop_connections(client)
        elif closing.exception() is not None:
            log.warning("closing %s: %s", type(client).__name__, closing.exception())


def _drop_connections(client: Any) -> None:
    """Close the sockets of a client whose stop was abandoned: left open, they leak, and
    each warns when collected after the loop has closed. aiokafka keeps them in its
    client's connection table, which it offers no public way to close at once."""
    for conn in list(getattr(getattr(client, "_client", None), "_conns", {}).values()):
        conn.close()
