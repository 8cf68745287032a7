"""Filling a benchmark database as ingested events would, two ways, and checking that
they agree.

- `ingest`: the real path, `golive.store.batches.write_batch`, one transaction per batch
  of decoded records, as the consumer does.
- `Folder` + `copy_*`: a bulk load for large streams. Each record is decoded by the real
  decoder; each event is applied with the domain's own reducer (`apply`) to exactly the
  entities `touches` names, as a batch does, but in memory; the derived tables come from
  the domain's own derivation (`domain.delivery.deliveries`); documents and columns from
  the store's own codec and projection rows. Everything then goes in with COPY.

`differences` compares two databases table by table (every column but the wall-clock
ones): the benchmark runs a sample both ways and refuses to go on if they differ.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import asyncpg

from bench.fixtures import TOPIC, Record
from golive.contract import Event, decode_record
from golive.domain.catalog import Catalog
from golive.domain.delivery import deliveries
from golive.domain.state import ENTITY_FIELDS, State, apply, touches
from golive.ingest.consumer import KEPT_HEADER_PREFIXES
from golive.store import codec
from golive.store.batches import IncomingEvent, write_batch
from golive.store.db import Connection
from golive.store.projections import BY_FIELD

GROUP_ID = "golive-bench"
BATCH = 2000  # GOLIVE_KAFKA_MAX_BATCH's default


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
    return IngestTimes(len(records), sum(times), decode, tuple(times))


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
        after = apply(partial, event, self.catalog)
        for name, keys in touched.items():
            current = getattr(after, name)
            for key in keys:
                if key in current:
                    self.entities[name][key] = current[key]
        self.counts[event.name] += 1


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
            (projection.db_key(k), json.dumps(codec.encode(e)), *projection.row(e))
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
    for delivery in deliveries(state).values():
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
        for r in delivery.recoveries:  # ON CONFLICT DO NOTHING: the first one stays
            row = (r.service, r.environment, r.started_at, r.restored_at, str(r.cause))
            recoveries.setdefault(row[:3], row)
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
    pairs = sorted({(a.id, c) for a in entities["artifacts"].values() for c in a.changes})
    await conn.copy_records_to_table(
        "artifact_changes", records=pairs, columns=["artifact", "change"]
    )
    await conn.copy_records_to_table(
        "event_counts", records=sorted(folder.counts.items()), columns=["name", "count"]
    )
    await conn.copy_records_to_table(
        "consumer_offsets",
        records=[(GROUP_ID, t, p, o) for (t, p), o in sorted(folder.offsets.items())],
        columns=["group_id", "topic", "partition", "next_offset"],
    )


# --- checks and sizes --------------------------------------------------------------------

TABLES = (
    "events",
    "releases",
    "tasks",
    "teams",
    "rollouts",
    "incidents",
    "changes",
    "artifacts",
    "timelines",
    "deployments",
    "recoveries",
    "artifact_changes",
    "event_counts",
    "consumer_offsets",
)
WALL_CLOCK_COLUMNS = {"updated_at", "ingested_at"}


async def _rows(conn: Connection, table: str) -> list[tuple[Any, ...]]:
    columns = [
        r["column_name"]
        for r in await conn.fetch(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position""",
            table,
        )
        if r["column_name"] not in WALL_CLOCK_COLUMNS
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    return [tuple(r) for r in await conn.fetch(f"SELECT {select} FROM {table} ORDER BY {order}")]


async def differences(a: Connection, b: Connection) -> list[str]:
    """What differs between two databases, table by table; empty when they agree."""
    found = []
    for table in TABLES:
        left, right = await _rows(a, table), await _rows(b, table)
        if left == right:
            continue
        first = next(
            (i for i, (x, y) in enumerate(zip(left, right, strict=False)) if x != y),
            min(len(left), len(right)),
        )
        show = [str(rows[first])[:300] if first < len(rows) else "-" for rows in (left, right)]
        found.append(
            f"{table}: {len(left)} vs {len(right)} rows; first difference at row {first}: "
            f"{show[0]} != {show[1]}"
        )
    return found


def mismatch(a: object, b: object, where: str = "snapshot") -> str | None:
    """Where two values (dataclasses, containers, numbers) differ, or None. Floats are
    compared to 1e-9: Postgres sums float8 columns in physical row order, which differs
    between two databases holding the same rows."""
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        pairs = [(f.name, getattr(a, f.name), getattr(b, f.name)) for f in fields(a)]
        return next((m for n, x, y in pairs if (m := mismatch(x, y, f"{where}.{n}"))), None)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
        return next(
            (
                m
                for i, (x, y) in enumerate(zip(a, b, strict=True))
                if (m := mismatch(x, y, f"{where}[{i}]"))
            ),
            None,
        )
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return next((m for k in a if (m := mismatch(a[k], b[k], f"{where}[{k!r}]"))), None)
    if isinstance(a, float) and isinstance(b, float):
        return None if math.isclose(a, b, rel_tol=1e-9) else f"{where}: {a!r} != {b!r}"
    return None if a == b else f"{where}: {a!r} != {b!r}"


async def table_sizes(conn: Connection) -> dict[str, dict[str, int]]:
    """Rows and bytes on disk (table, indexes and TOAST) of every golive table."""
    sizes = {}
    for table in TABLES:
        rows = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        size = int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table))
        sizes[table] = {"rows": rows, "bytes": size}
    return sizes
