"""Filling a benchmark database as ingested events would, two ways.

- `ingest`: the real path, `golive.store.batches.write_batch`, one transaction per batch
  of decoded records, as the consumer does.
- `Folder` + `copy_*`: a bulk load for large streams. Each record is decoded by the real
  decoder; each event is applied with the domain's own reducer (`apply`) to exactly the
  entities `touches` names, as a batch does, but in memory; the derived tables come from
  the domain's own derivation (`domain.delivery.deliveries`); documents and columns from
  the store's own codec and projection rows. Everything then goes in with COPY.

`fill` bulk-loads a stream but its last events, which go through `write_batch` on top:
the real path, measured on the full database. The benchmark checks on a sample that
this gives the database `ingest` alone gives (`bench.databases.differences`).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from bench.databases import store_connection
from bench.fixtures import TOPIC, Record, plan, stream
from bench.mix import Mix
from golive.contract import Event, decode_record
from golive.domain.catalog import Catalog
from golive.domain.delivery import walked_deliveries
from golive.domain.state import ENTITY_FIELDS, State, touches
from golive.domain.teams import apply_counting_activity
from golive.ingest.consumer import KEPT_HEADER_PREFIXES
from golive.store import codec
from golive.store.batches import IncomingEvent, write_batch
from golive.store.db import Connection
from golive.store.derived import derive_pending
from golive.store.projections import BY_FIELD

GROUP_ID = "golive-bench"
BATCH = 2000  # events a transaction of the load writes


def incoming_of(record: Record) -> IncomingEvent:
    """Decode a record as the consumer does (the same kept headers)."""
    event = decode_record(record.value, record.headers)
    if not isinstance(event, Event):
        raise ValueError(f"the generator produced a record golive rejects: {event}")
    kept = [
        (k, v.decode("utf-8", "replace"))
        for k, v in record.headers
        if k.lower().startswith(KEPT_HEADER_PREFIXES)
    ]
    return IncomingEvent(event, record.value, kept, TOPIC, record.partition, record.offset)


def _offsets(incoming: Iterable[IncomingEvent]) -> dict[tuple[str, int], int]:
    offsets: dict[tuple[str, int], int] = {}
    for item in incoming:
        assert item.topic is not None
        assert item.partition is not None
        assert item.offset is not None
        key = (item.topic, item.partition)
        offsets[key] = max(offsets.get(key, 0), item.offset + 1)
    return offsets


# --- the real path ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestTimes:
    events: int
    seconds: float  # in write_batch
    decode_seconds: float
    batch_seconds: tuple[float, ...]
    derive_seconds: float = 0.0  # the deliveries the batches queued, derived at the end

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def ingest(
    conn: Connection,
    records: Sequence[Record],
    catalog: Catalog,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> IngestTimes:
    """Decode and `write_batch` `records`, `batch` records per transaction."""
    times = []
    decode = 0.0
    for start in range(0, len(records), batch):
        began = time.perf_counter()
        chunk = [incoming_of(r) for r in records[start : start + batch]]
        decoded = time.perf_counter()
        await write_batch(conn, chunk, _offsets(chunk), group_id=GROUP_ID, catalog=catalog)
        times.append(time.perf_counter() - decoded)
        decode += decoded - began
        if progress is not None:
            progress(start + len(chunk))
    began = time.perf_counter()
    while await derive_pending(conn):  # what the leader derives meanwhile in the service
        pass
    derive = time.perf_counter() - began
    return IngestTimes(len(records), sum(times), decode, tuple(times), derive)


def spread(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p99": ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)],  # nearest rank
        "max": ordered[-1],
    }


# --- the bulk path ---------------------------------------------------------------------


@dataclass
class Folder:
    """The state the events produce, entity by entity, with the domain's reducer."""

    catalog: Catalog
    entities: dict[str, dict[Any, Any]] = field(
        default_factory=lambda: {name: {} for name in ENTITY_FIELDS}
    )
    counts: Counter[str] = field(default_factory=Counter)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    activity: dict[tuple[str, datetime], tuple[int, datetime, datetime]] = field(
        default_factory=dict
    )

    def add(self, items: Sequence[IncomingEvent]) -> list[IncomingEvent]:
        """Apply new events; return them (duplicates are dropped, as the events table does)."""
        new = []
        for item in items:
            event = item.event
            if event.key in self.seen:
                continue
            self.seen.add(event.key)
            new.append(item)
            self._apply(event)
        self.offsets.update({k: max(v, self.offsets.get(k, 0)) for k, v in _offsets(items).items()})
        return new

    def _apply(self, event: Event) -> None:
        # A batch loads the entities `touches` names, applies, and saves them back.
        touched = touches(event, self.catalog)
        loaded: dict[str, Any] = {
            name: {k: self.entities[name][k] for k in keys if k in self.entities[name]}
            for name, keys in touched.items()
        }
        partial = State(**loaded)
        after, activity = apply_counting_activity([event], self.catalog, partial)
        for name, keys in touched.items():
            current = getattr(after, name)
            for key in keys:
                if key in current:
                    self.entities[name][key] = current[key]
        self.counts[event.name] += 1
        for key, (n, first, last) in activity.items():
            known = self.activity.get(key)
            if known is not None:
                n, first, last = known[0] + n, min(known[1], first), max(known[2], last)
            self.activity[key] = (n, first, last)


def _event_row(item: IncomingEvent) -> tuple[Any, ...]:
    e = item.event
    headers = json.dumps([list(h) for h in item.headers])
    return (
        e.source,
        e.id,
        e.type,
        e.name,
        e.time,
        e.subject_id,
        e.team,
        item.payload,
        headers,
        item.topic,
        item.partition,
        item.offset,
    )


EVENT_COLUMNS = [
    "source",
    "id",
    "type",
    "name",
    "time",
    "subject_id",
    "team",
    "payload",
    "headers",
    "topic",
    "partition",
    "offset",
]


async def copy_events(conn: asyncpg.Connection, items: Sequence[IncomingEvent]) -> None:
    """COPY into `events` the rows `insert_events` would insert. `conn` must use asyncpg's
    own jsonb codec (text), not the store's."""
    await conn.copy_records_to_table(
        "events", records=[_event_row(i) for i in items], columns=EVENT_COLUMNS
    )


async def copy_state(conn: asyncpg.Connection, folder: Folder) -> None:
    """COPY the projections, the derived tables, the event counts and the offsets."""
    entities = folder.entities
    for name in ENTITY_FIELDS:
        projection = BY_FIELD[name]
        rows = [
            (projection.db_key(k), codec.encode_text(e), *projection.row(e))
            for k, e in sorted(entities[name].items())
        ]
        columns = ["key", "doc", *(c for c, _ in projection.columns)]
        await conn.copy_records_to_table(projection.table, records=rows, columns=columns)

    state = State(
        timelines=entities["timelines"],
        incidents=entities["incidents"],
        rollouts=entities["rollouts"],
    )
    deployments = []
    recoveries: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    walks = []
    for (service, environment), (delivery, walked) in sorted(walked_deliveries(state).items()):
        last = walked.last
        if last is not None:  # a pair with no signal has no walk stored
            walks.append(
                (
                    service,
                    environment,
                    last[0] if last else None,
                    last[1][0] if last else None,
                    last[1][1] if last else None,
                    walked.current,
                    walked.open.started_at if walked.open else None,
                    str(walked.open.cause) if walked.open else None,
                    sorted(walked.open_incidents),
                )
            )
        deployments += [
            (
                d.service,
                d.environment,
                d.version,
                d.deployed_at,
                d.artifact,
                d.failed_at,
                d.rework,
                d.completed,
                d.attempt_failed,
            )
            for d in delivery.deployments
        ]
        for r in delivery.recoveries:  # one started at the same instant: the later stays
            row = (r.service, r.environment, r.started_at, r.restored_at, str(r.cause))
            recoveries[row[:3]] = row
    await conn.copy_records_to_table(
        "deployments",
        records=deployments,
        columns=[
            "service",
            "environment",
            "version",
            "deployed_at",
            "artifact",
            "failed_at",
            "rework",
            "completed",
            "attempt_failed",
        ],
    )
    await conn.copy_records_to_table(
        "recoveries",
        records=list(recoveries.values()),
        columns=["service", "environment", "started_at", "restored_at", "cause"],
    )
    await conn.copy_records_to_table(
        "delivery_walks",
        records=walks,
        columns=[
            "service",
            "environment",
            "last_time",
            "last_source",
            "last_id",
            "current_version",
            "open_started_at",
            "open_cause",
            "open_incidents",
        ],
    )
    pairs = sorted({(a.id, c) for a in entities["artifacts"].values() for c in a.changes})
    await conn.copy_records_to_table(
        "artifact_changes", records=pairs, columns=["artifact", "change"]
    )
    await conn.copy_records_to_table(
        "team_activity",
        records=[(team, bucket, *facts) for (team, bucket), facts in folder.activity.items()],
        columns=["team", "bucket", "events", "first_at", "last_at"],
    )
    await conn.copy_records_to_table(
        "event_counts", records=sorted(folder.counts.items()), columns=["name", "count"]
    )
    await conn.copy_records_to_table(
        "consumer_offsets",
        records=[(GROUP_ID, t, p, o) for (t, p), o in sorted(folder.offsets.items())],
        columns=["group_id", "topic", "partition", "next_offset"],
    )


# --- a benchmark database ------------------------------------------------------------------

COPY_CHUNK = 50_000


async def fill(
    dsn: str, mix: Mix, catalog: Catalog, *, tail: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Bulk-load the first `events - tail` events, then `write_batch` the last `tail`."""
    began = time.perf_counter()
    planned = plan(mix)
    phases = {"plan": time.perf_counter() - began, "decode": 0.0, "apply": 0.0, "copy": 0.0}
    log(f"planned {planned.events} events in {len(planned.stories)} stories")
    bulk = mix.events - tail
    folder = Folder(catalog)
    held: list[Record] = []
    chunk: list[Record] = []
    copier = await asyncpg.connect(dsn)  # asyncpg's own codecs: COPY takes jsonb as text
    try:

        async def flush() -> None:
            t0 = time.perf_counter()
            items = [incoming_of(r) for r in chunk]
            t1 = time.perf_counter()
            new = folder.add(items)
            t2 = time.perf_counter()
            await copy_events(copier, new)
            t3 = time.perf_counter()
            phases["decode"] += t1 - t0
            phases["apply"] += t2 - t1
            phases["copy"] += t3 - t2
            chunk.clear()

        loaded = 0
        for index, record in enumerate(stream(mix, planned)):
            if index >= bulk:
                held.append(record)
                continue
            chunk.append(record)
            if len(chunk) == COPY_CHUNK:
                await flush()
                loaded += COPY_CHUNK
                elapsed = time.perf_counter() - began
                log(f"bulk: {loaded}/{bulk} events ({loaded / elapsed:,.0f}/s)")
        if chunk:
            await flush()
        t0 = time.perf_counter()
        await copy_state(copier, folder)
        phases["copy_state"] = time.perf_counter() - t0
        log(f"bulk: {bulk} events and their state loaded")
    finally:
        await copier.close()
    bulk_seconds = time.perf_counter() - began
    phases["generate"] = bulk_seconds - sum(phases.values())

    def progress(done: int) -> None:
        if done % COPY_CHUNK == 0:
            log(f"write_batch: {done}/{tail} events")

    conn = await store_connection(dsn)
    try:
        times = await ingest(conn, held, catalog, progress=progress)
        if tail:
            log(
                f"write_batch: {tail} events on top in {times.seconds:.1f}s "
                f"({times.rate:,.0f}/s, {len(times.batch_seconds)} batches)"
            )
        # What autovacuum does to a live database: fresh planner statistics.
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        phases["vacuum_analyze"] = time.perf_counter() - t0
    finally:
        await conn.close()
    return {
        "approach": (
            "write_batch only"
            if bulk == 0
            else "bulk (real decoder, reducers, derivation and codec; COPY) + write_batch tail"
        ),
        "seconds": time.perf_counter() - began,
        "bulk_events": bulk,
        "bulk_seconds": bulk_seconds,
        "phases_seconds": {k: round(v, 3) for k, v in phases.items()},
        "tail": {
            "events": tail,
            "decode_seconds": times.decode_seconds,
            "write_batch_seconds": times.seconds,
            "events_per_second": times.rate,
            "batch_size": BATCH,
            "batch_seconds": spread(times.batch_seconds) if times.batch_seconds else None,
        },
        "events_by_type": dict(sorted(planned.counts.items())),
    }
