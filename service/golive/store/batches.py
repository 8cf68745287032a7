"""One consumer batch, one transaction: events, projections, offsets (DESIGN section 3).

Inside the transaction:
1. insert the decoded events into `events`; the unique (source, id) index drops
   duplicates, and only the rows actually inserted are applied. A row the index
   refused is compared with the stored event (only those rows are read back): the same
   CDEvent again is a duplicate, a different one under a used id is a conflict;
2. lock and load the entities those new events touch, fold the events with the pure
   reducer, write the entities back;
3. count the new events by type;
4. move each partition's stored offset forward (never back);
5. hand the conflicts to `on_conflicts` (the consumer dead-letters them), last, so that
   only a commit that fails can make them go out twice.
Either all of it commits or none of it does: a crash replays the batch, the events
table recognises what was applied, and the state changes exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from golive import fastjson
from golive.contract import Event, Rejection, decode_record
from golive.domain.catalog import Catalog
from golive.domain.state import ENTITY_FIELDS, State, derived_touches, touches
from golive.domain.teams import apply_counting_activity
from golive.store import derived
from golive.store.db import Connection
from golive.store.projections import BY_FIELD, lock_and_load, save


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """A decoded event with what the events table keeps of its record."""

    event: Event
    payload: bytes
    headers: Sequence[tuple[str, str]] = ()
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """An event whose (source, id) is already taken by a different event."""

    incoming: IncomingEvent
    holder: str  # where the event holding the id came from, for the reason

    @property
    def reason(self) -> str:
        source, id_ = self.incoming.event.key
        return (
            f"the id {id_!r} of source {source!r} is already used by a different event "
            f"({self.holder}); an id names one event: give this one a new id"
        )


OnConflicts = Callable[[Sequence[Conflict]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: Counter[str] = field(default_factory=Counter)  # by event name
    duplicates: Counter[str] = field(default_factory=Counter)
    conflicts: list[Conflict] = field(default_factory=list)


PartitionOffsets = Mapping[tuple[str, int], int]  # (topic, partition) -> next offset


async def insert_events(
    conn: Connection, incoming: Sequence[IncomingEvent]
) -> set[tuple[str, str]]:
    """Insert events, skipping known ones; return the keys actually inserted."""
    if not incoming:
        return set()
    rows = await conn.fetch(
        """INSERT INTO events (source, id, type, name, time, subject_id, team, payload, headers,
                               topic, partition, "offset")
           SELECT source, id, type, name, time, subject_id, team, payload, headers::jsonb,
                  topic, partition, "offset"
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                       $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[],
                       $11::int[], $12::bigint[])
                AS u(source, id, type, name, time, subject_id, team, payload, headers,
                     topic, partition, "offset")
           ON CONFLICT (source, id) DO NOTHING
           RETURNING source, id""",
        [i.event.source for i in incoming],
        [i.event.id for i in incoming],
        [i.event.type for i in incoming],
        [i.event.name for i in incoming],
        [i.event.time for i in incoming],
        [i.event.subject_id for i in incoming],
        [i.event.team for i in incoming],
        [i.payload for i in incoming],
        # JSON text, not lists: asyncpg would read nested lists as a 2-D array.
        [fastjson.dumps_finite(i.headers) for i in incoming],
        [i.topic for i in incoming],
        [i.partition for i in incoming],
        [i.offset for i in incoming],
    )
    return {(r["source"], r["id"]) for r in rows}


def same_event(a: Event, b: Event) -> bool:
    """The same CDEvent, however it travelled (plain, structured or binary mode)."""
    return a.type == b.type and a.document == b.document


async def find_conflicts(
    conn: Connection, refused: Sequence[IncomingEvent]
) -> tuple[list[IncomingEvent], list[Conflict]]:
    """Split the events the unique index refused into duplicates and conflicts, by
    reading back (and decoding) the stored events holding their ids."""
    if not refused:
        return [], []
    rows = await conn.fetch(
        """SELECT source, id, payload, headers, topic, partition, "offset" FROM events
           WHERE (source, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        [i.event.source for i in refused],
        [i.event.id for i in refused],
    )
    stored = {(r["source"], r["id"]): r for r in rows}
    duplicates: list[IncomingEvent] = []
    conflicts: list[Conflict] = []
    for item in refused:
        row = stored.get(item.event.key)
        # No row: inserted by a concurrent transaction and gone? Kept silent.
        if row is None or _holds_same(row, item.event, item.payload):
            duplicates.append(item)
        else:
            where = (
                f"stored from {row['topic']}[{row['partition']}] offset {row['offset']}"
                if row["topic"] is not None
                else "already stored"
            )
            conflicts.append(Conflict(item, where))
    return duplicates, conflicts


def _holds_same(row: Any, event: Event, payload: bytes) -> bool:
    """Whether the stored row is `event` again (in any CloudEvents mode)."""
    stored = bytes(row["payload"])
    if stored == payload:
        return True
    headers = [(k, v.encode()) for k, v in row["headers"]]
    held = decode_record(stored, headers, max_bytes=len(stored) + 1)
    return not isinstance(held, Rejection) and same_event(held, event)


async def apply_events(conn: Connection, events: Sequence[Event], catalog: Catalog) -> None:
    """Apply events (already known to be new) to the projections, in the caller's transaction."""
    if not events:
        return
    wanted: dict[str, set[object]] = {}
    for event in events:
        for name, keys in touches(event, catalog).items():
            wanted.setdefault(name, set()).update(keys)
    loaded: dict[str, Any] = {}
    for name in ENTITY_FIELDS:  # in lock order; what is loaded first may name more to load
        for derived_name, keys in derived_touches(State(**loaded)).items():
            if derived_name not in loaded:
                wanted.setdefault(derived_name, set()).update(keys)
        loaded[name] = await lock_and_load(conn, BY_FIELD[name], wanted.get(name, ()))
    before = State(**loaded)
    state, activity = apply_counting_activity(events, catalog, before)
    for name in ENTITY_FIELDS:
        keys = wanted.get(name, set())
        current = getattr(state, name)
        await save(conn, BY_FIELD[name], {k: current[k] for k in keys if k in current})
        if keys - current.keys():  # placeholders of keys that named nothing after all
            await conn.execute(
                f"DELETE FROM {BY_FIELD[name].table} WHERE key = ANY($1::text[]) AND doc IS NULL",
                sorted(BY_FIELD[name].db_key(k) for k in keys - current.keys()),
            )
    # Every timeline the batch touched was locked and loaded above, and is current now.
    await derived.refresh_deliveries(
        conn, derived.affected(before, state, wanted), locked=state.timelines
    )
    await derived.add_artifact_changes(
        conn, [a for k, a in state.artifacts.items() if k in wanted.get("artifacts", ())]
    )
    await derived.add_team_activity(conn, activity)
    counts = Counter(e.name for e in events)
    await conn.execute(
        """INSERT INTO event_counts (name, count) SELECT * FROM unnest($1::text[], $2::bigint[])
           ON CONFLICT (name) DO UPDATE SET count = event_counts.count + EXCLUDED.count""",
        list(counts),
        list(counts.values()),
    )


async def store_offsets(conn: Connection, group_id: str, offsets: PartitionOffsets) -> None:
    """Move stored offsets forward, never back: a replayed batch cannot undo a later one."""
    await _write_offsets(conn, group_id, offsets, back=False)


async def reset_offsets(conn: Connection, group_id: str, offsets: PartitionOffsets) -> None:
    """Set stored offsets, lower ones included: only for a log that is no longer the one
    they were stored against."""
    await _write_offsets(conn, group_id, offsets, back=True)


async def _write_offsets(
    conn: Connection, group_id: str, offsets: PartitionOffsets, *, back: bool
) -> None:
    if not offsets:
        return
    items = sorted(offsets.items())
    await conn.execute(
        """INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
           SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])
           ON CONFLICT (group_id, topic, partition) DO UPDATE
           SET next_offset = CASE WHEN $5::bool THEN EXCLUDED.next_offset
                   ELSE GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset) END,
               updated_at = now()""",
        group_id,
        [t for (t, _), _ in items],
        [p for (_, p), _ in items],
        [o for _, o in items],
        back,
    )


async def load_offsets(
    conn: Connection, group_id: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    wanted = sorted(partitions)
    rows = await conn.fetch(
        """SELECT topic, partition, next_offset FROM consumer_offsets
           WHERE group_id = $1
             AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))""",
        group_id,
        [t for t, _ in wanted],
        [p for _, p in wanted],
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def write_batch(
    conn: Connection,
    incoming: Sequence[IncomingEvent],
    offsets: PartitionOffsets,
    *,
    group_id: str,
    catalog: Catalog,
    on_conflicts: OnConflicts | None = None,
) -> BatchResult:
    """The whole batch in one transaction; returns what was applied, what was a
    duplicate and what conflicted (after `on_conflicts` took it, inside the transaction,
    so a conflict is never committed past without being handed over)."""
    result = BatchResult()
    async with conn.transaction():
        # A batch may itself repeat an event: keep the first, the rest are duplicates.
        unique: dict[tuple[str, str], IncomingEvent] = {}
        for item in incoming:
            first = unique.get(item.event.key)
            if first is None:
                unique[item.event.key] = item
            elif same_event(first.event, item.event):
                result.duplicates[item.event.name] += 1
            else:
                holder = f"{first.topic}[{first.partition}] offset {first.offset}, same batch"
                result.conflicts.append(Conflict(item, holder))
        inserted = await insert_events(conn, list(unique.values()))
        new = [i.event for i in unique.values() if i.event.key in inserted]
        refused = [i for i in unique.values() if i.event.key not in inserted]
        duplicates, conflicts = await find_conflicts(conn, refused)
        result.conflicts.extend(conflicts)
        for item in duplicates:
            result.duplicates[item.event.name] += 1
        await apply_events(conn, new, catalog)
        await store_offsets(conn, group_id, offsets)
        # Last: a batch refused above is rolled back and retried (or isolated) without its
        # conflicts having been handed over, so they are not handed over twice.
        if result.conflicts and on_conflicts is not None:
            await on_conflicts(result.conflicts)
    result.applied.update(e.name for e in new)
    return result
