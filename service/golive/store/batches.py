"""One consumer batch, one transaction: events, projections, offsets (DESIGN section 3).

Inside the transaction:
1. insert the decoded events into `events`, as new ones: a plain INSERT. If the unique
   (source, id) index refuses one, the transaction is rolled back and the batch written
   again with an insert that skips the rows the index refuses; only the rows actually
   inserted are applied. A refused row is compared with the stored event (only those
   rows are read back): the same CDEvent again is a duplicate, a different one under a
   used id is a conflict;
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

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

import asyncpg

from golive import fastjson
from golive.contract import Event, Rejection, decode_record
from golive.domain.catalog import Catalog
from golive.domain.delivery import signal_changes
from golive.domain.state import ENTITY_FIELDS, State, derived_touches, touches
from golive.domain.teams import ActivityFolding, Buckets
from golive.store import codec, derived
from golive.store.cache import ABSENT, EntityCache, Entry, Write
from golive.store.db import Connection
from golive.store.projections import (
    BY_FIELD,
    Projection,
    Rows,
    lock,
    lock_and_load,
    read,
    rows_of,
    rows_with,
    save_all,
    save_rows,
)


class IncomingEvent(NamedTuple):
    """A decoded event with what the events table keeps of its record. A named tuple:
    one is made for every record, and a frozen dataclass takes about four times as long
    to make (each field set through `object.__setattr__`)."""

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
    refolded: bool = False  # folded again in the transaction (`commit`)


PartitionOffsets = Mapping[tuple[str, int], int]  # (topic, partition) -> next offset


# The rows of `_event_rows`, as `events` columns.
_EVENT_ROWS = """
    SELECT r->>0 AS source, r->>1 AS id, r->>2 AS type, r->>3 AS name,
           (r->>4)::timestamptz AS time, r->>5 AS subject_id, r->>6 AS team,
           substring($2::bytea FROM (r->>11)::int FOR (r->>12)::int) AS payload,
           r->7 AS headers, r->>8 AS topic, (r->>9)::int AS partition, (r->>10)::bigint AS "offset"
    FROM jsonb_array_elements($1::text::jsonb) AS r"""
_EVENT_COLUMNS = (
    'source, id, type, name, time, subject_id, team, payload, headers, topic, partition, "offset"'
)
# The unique index on `events (source, id)`: what makes a stored event a duplicate.
_EVENT_KEY = "events_source_id_key"


class EventsStoredAlready(Exception):
    """`insert_new_events` met an event stored already; its transaction is aborted."""


def _event_rows(incoming: Sequence[IncomingEvent]) -> tuple[str, bytes]:
    """The events as `_EVENT_ROWS` reads them: one JSON document, and the payloads one
    after the other in one bytea, each row saying where its own starts and how long.

    One document, not an array a column: asyncpg encodes an array element by element,
    with two ABC checks each, and the twelve arrays were the largest part of a batch's
    CPU in its transaction. orjson writes the document in C and Postgres, which has a
    core to spare, reads it: 0.30x the CPU in golive for a batch of 5,000
    (docs/performance.md, seventh round). The payloads stay bytes (in JSON they would
    need escaping or base64 both ways), joined: Postgres cuts them out of one value in
    less time than it unnests an array of them (docs/performance.md, twelfth round)."""
    payloads = [item.payload for item in incoming]
    starts = itertools.accumulate(map(len, payloads), initial=1)  # SQL counts from 1
    rows_json = fastjson.dumps_finite(
        [
            (
                item.event.source,
                item.event.id,
                item.event.type,
                item.event.kind.name,
                item.event.time,
                item.event.subject_id,
                item.event.team,
                item.headers,
                item.topic,
                item.partition,
                item.offset,
                start,
                len(item.payload),
            )
            for item, start in zip(incoming, starts, strict=False)
        ]
    )
    return rows_json, b"".join(payloads)


async def insert_new_events(conn: Connection, incoming: Sequence[IncomingEvent]) -> None:
    """Insert events expected to be new (their keys distinct): the usual batch.

    A plain INSERT: without `insert_events`'s ON CONFLICT and the anti-join that finds
    the refused rows, Postgres spends 0.65x the CPU on it (docs/performance.md, tenth
    round). Raises `EventsStoredAlready` when one of them is stored already: the
    transaction is then aborted, to be written again with `insert_events`."""
    if not incoming:
        return
    try:
        await conn.execute(
            f"INSERT INTO events ({_EVENT_COLUMNS}) {_EVENT_ROWS}", *_event_rows(incoming)
        )
    except asyncpg.UniqueViolationError as err:
        if err.constraint_name != _EVENT_KEY:
            raise
        raise EventsStoredAlready(err.detail or str(err)) from err


async def insert_events(conn: Connection, incoming: Sequence[IncomingEvent]) -> list[IncomingEvent]:
    """Insert events (their keys distinct), skipping those whose (source, id) is stored
    already; return the skipped ones. Only those keys come back."""
    if not incoming:
        return []
    rows = await conn.fetch(
        f"""WITH u AS MATERIALIZED ({_EVENT_ROWS}),
           inserted AS (
               INSERT INTO events ({_EVENT_COLUMNS})
               SELECT {_EVENT_COLUMNS} FROM u
               ON CONFLICT (source, id) DO NOTHING
               RETURNING source, id)
           SELECT u.source, u.id FROM u
           WHERE NOT EXISTS (
               SELECT 1 FROM inserted i WHERE i.source = u.source AND i.id = u.id)""",
        *_event_rows(incoming),
    )
    if not rows:
        return []
    refused = {(r["source"], r["id"]) for r in rows}
    return [item for item in incoming if item.event.key in refused]


def same_event(a: Event, b: Event) -> bool:
    """The same CDEvent, however it travelled (plain, structured or binary mode)."""
    if a.type != b.type:
        return False
    return (a.raw == b.raw and a.mode is b.mode) or a.document == b.document


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


# --- folding: the entities a batch touches, before and after ------------------------------

# Events folded, and changed entities encoded, between two yields to the event loop
# while a batch is prepared (about 1 ms of work each), so the transaction of the batch
# before it goes on meanwhile: each of its round trips waits for the slice in hand.
FOLD_SLICE = 50
ENCODE_SLICE = 50

# The entities a batch adds to instead of folding onto: a team's activity (first, last,
# count) is a sum (`Team.plus`), so a batch folds its part from nothing and adds it to the
# stored row when it writes, under the row's lock. Nothing of them is read before the
# transaction or cached, and instances that touch the same teams (every instance: a team
# owns services in every partition) do not make each other fold again.
ADDED_UP = frozenset({"teams"})

# Reads the entries of some keys of a projection: from the cache or the rows.
EntriesOf = Callable[[str, list[Any]], Awaitable[dict[Any, Entry]]]


@dataclass(slots=True)
class Fold:
    """Events folded into the entities they touch, and what writing that takes."""

    events: Sequence[Event]  # the events folded, all taken as new
    wanted: dict[str, set[Any]]  # keys touched, by State field
    before: dict[str, dict[Any, Entry]]  # the entries folded onto, by field and key
    after: State
    activity: Buckets
    changed: dict[str, dict[Any, Any]]  # entities to write, by field and key
    rows: dict[str, Rows]  # the same, encoded
    gone: dict[str, list[Any]]  # keys touched that name no entity after all


def wanted_by(events: Iterable[Event], catalog: Catalog) -> dict[str, set[Any]]:
    wanted: dict[str, set[Any]] = {}
    for event in events:
        for name, keys in touches(event, catalog).items():
            wanted.setdefault(name, set()).update(keys)
    return wanted


def state_of(before: Mapping[str, Mapping[Any, Entry]]) -> State:
    """The partial State of the entities in `before`."""
    entities: dict[str, Any] = {
        name: {k: e.entity for k, e in entries.items() if e.entity is not None}
        for name, entries in before.items()
    }
    return State(**entities)


async def gather(wanted: dict[str, set[Any]], entries_of: EntriesOf) -> dict[str, dict[Any, Entry]]:
    """The entries of every wanted key, field by field in lock order: what is found first
    may name more to want (`derived_touches`), which `wanted` then holds too. What is
    added up is not read (`ADDED_UP`): it is locked last, when written."""
    before: dict[str, dict[Any, Entry]] = {}
    for name in ENTITY_FIELDS:
        for derived_name, keys in derived_touches(state_of(before)).items():
            if derived_name not in before:
                wanted.setdefault(derived_name, set()).update(keys)
        ordered = sorted(wanted.get(name, ()), key=BY_FIELD[name].db_key)
        if name in ADDED_UP:
            before[name] = dict.fromkeys(ordered, ABSENT)
        else:
            before[name] = await entries_of(name, ordered) if ordered else {}
    return before


async def fold(
    events: Sequence[Event],
    catalog: Catalog,
    wanted: dict[str, set[Any]],
    before: dict[str, dict[Any, Entry]],
    *,
    sliced: bool,
) -> Fold:
    """Fold `events` (all new) onto `before` with the pure reducer; encode what changed.
    `sliced` yields to the event loop between slices of the work."""
    # One fold over the slices: its maps are copied once, not once a slice.
    folding = ActivityFolding(state_of(before), catalog)
    for start in range(0, len(events), FOLD_SLICE):
        folding.apply(events[start : start + FOLD_SLICE])
        if sliced:
            await asyncio.sleep(0)
    after, activity = folding.state(), folding.buckets
    changed: dict[str, dict[Any, Any]] = {}
    rows: dict[str, Rows] = {}
    gone: dict[str, list[Any]] = {}
    for name in ENTITY_FIELDS:
        current, prior = getattr(after, name), before.get(name, {})
        changed[name], gone[name] = {}, []
        for key in wanted.get(name, ()):
            entity = current.get(key)
            if entity is None:
                gone[name].append(key)
            elif (entry := prior.get(key)) is None or entry.entity is not entity:
                changed[name][key] = entity
        # What is added up is encoded once added, in the transaction (`write_fold`).
        rows[name] = await _encoded(name, {} if name in ADDED_UP else changed[name], sliced)
    return Fold(events, wanted, before, after, activity, changed, rows, gone)


async def _encoded(name: str, entities: dict[Any, Any], sliced: bool) -> Rows:
    """`rows_of` the entities, `sliced` (a batch's timelines take tens of ms to encode)."""
    projection = BY_FIELD[name]
    if not sliced:
        return rows_of(projection, entities)
    docs: list[str] = []
    values = list(entities.values())
    for start in range(0, len(values), ENCODE_SLICE):
        docs += [codec.encode_text(e) for e in values[start : start + ENCODE_SLICE]]
        await asyncio.sleep(0)
    return rows_with(projection, entities, docs)


async def write_fold(conn: Connection, done: Fold, events: Sequence[Event]) -> None:
    """Write a fold's entities, derived rows and counts, in the caller's transaction
    (which holds the locks of `done.wanted`)."""
    await save_all(
        conn, [(BY_FIELD[name], done.rows[name]) for name in ENTITY_FIELDS if name not in ADDED_UP]
    )
    for name in ENTITY_FIELDS:
        projection = BY_FIELD[name]
        if name in ADDED_UP:
            await _add_up(conn, projection, done.changed[name])
            continue
        if done.gone[name]:  # placeholders of keys that named nothing after all
            await conn.execute(
                f"DELETE FROM {projection.table} WHERE key = ANY($1::text[]) AND doc IS NULL",
                sorted(projection.db_key(k) for k in done.gone[name]),
            )
    # The pairs whose delivery signals changed are derived by the leader, off the
    # ingest path (store.derived.derive_pending).
    await derived.mark_pending(conn, signal_changes(state_of(done.before), done.after, done.wanted))
    await derived.add_artifact_changes(conn, done.changed["artifacts"].values())
    await derived.add_team_activity(conn, done.activity)
    counts = Counter(e.name for e in events)
    await conn.execute(
        """INSERT INTO event_counts (name, count) SELECT * FROM unnest($1::text[], $2::bigint[])
           ON CONFLICT (name) DO UPDATE SET count = event_counts.count + EXCLUDED.count""",
        list(counts),
        list(counts.values()),
    )


async def _add_up(conn: Connection, projection: Projection, parts: Mapping[Any, Any]) -> None:
    """Add a batch's part of each entity to the stored one, under the row's lock."""
    if not parts:
        return
    stored = await lock_and_load(conn, projection, sorted(parts, key=projection.db_key))
    totals = {k: stored[k].plus(part) if k in stored else part for k, part in parts.items()}
    await save_rows(conn, projection, rows_of(projection, totals))


async def apply_events(conn: Connection, events: Sequence[Event], catalog: Catalog) -> None:
    """Apply events (already known to be new) to the projections, in the caller's
    transaction, reading every entity under its lock: no cache (`golive replay`)."""
    if not events:
        return

    async def locked(name: str, keys: list[Any]) -> dict[Any, Entry]:
        await lock(conn, BY_FIELD[name], keys)
        return await read(conn, BY_FIELD[name], keys)

    wanted = wanted_by(events, catalog)
    before = await gather(wanted, locked)
    await write_fold(conn, await fold(events, catalog, wanted, before, sliced=False), events)


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


# --- a batch: prepared, then committed ------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """A batch folded before its transaction, on the assumption that every event is new
    and every entity is as the cache or the rows said."""

    incoming: list[IncomingEvent]  # the first of each (source, id) in the batch
    result: BatchResult  # the batch's own repeats and conflicts
    fold: Fold
    write: Write  # the writes the cache holds for this plan
    epoch: int  # the cache's epoch it was prepared in

    def is_current(self, cache: EntityCache) -> bool:
        """False once the cache was invalidated after this plan was made: an entry it
        folded onto may be gone (a batch before it did not commit as prepared)."""
        return self.epoch == cache.epoch


def cached_entries(cache: EntityCache, read_rows: EntriesOf) -> EntriesOf:
    """Entries from `cache`, the others read with `read_rows` (and then cached)."""

    async def entries_of(name: str, keys: list[Any]) -> dict[Any, Entry]:
        entries: dict[Any, Entry] = {}
        missing = []
        for key in keys:
            entry = cache.get(name, key)
            if entry is None:
                missing.append(key)
            else:
                entries[key] = entry
        if missing:
            epoch = cache.epoch
            read_now = await read_rows(name, missing)
            entries.update(read_now)
            if cache.epoch == epoch:  # not invalidated while reading
                for key, entry in read_now.items():
                    cache.put(name, key, entry)
        return entries

    return entries_of


async def prepare(
    incoming: Sequence[IncomingEvent],
    *,
    catalog: Catalog,
    cache: EntityCache,
    read_rows: EntriesOf,
) -> Plan:
    """Fold a batch onto the entities as cached (reading those that are not, with
    `read_rows`), and leave the result in the cache for the next batch to fold onto."""
    epoch = cache.epoch
    result = BatchResult()
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
    events = [i.event for i in unique.values()]
    wanted = wanted_by(events, catalog)
    before = await gather(wanted, cached_entries(cache, read_rows))
    done = await fold(events, catalog, wanted, before, sliced=True)
    write = Write()
    if cache.epoch == epoch:
        _remember(cache, done, write)
    return Plan(list(unique.values()), result, done, write, epoch)


def _remember(cache: EntityCache, done: Fold, write: Write) -> None:
    """Put a fold's outcome in the cache: what it changed as made by `write`."""
    for name in ENTITY_FIELDS:
        if name in ADDED_UP:
            continue  # the fold holds the batch's part only
        changed = done.changed[name]
        for key in done.wanted.get(name, ()):
            if key in changed:
                cache.put(name, key, Entry(changed[key], write))
            elif (entry := done.before[name].get(key)) is not None:
                cache.put(name, key, entry)


async def commit(
    conn: Connection,
    plan: Plan,
    offsets: PartitionOffsets,
    *,
    group_id: str,
    catalog: Catalog,
    cache: EntityCache,
    on_conflicts: OnConflicts | None = None,
) -> BatchResult:
    """Write a prepared batch in one transaction. Each touched row is locked and checked
    against the entry the plan folded onto; where one differs, or an event turns out to
    be stored already, the batch is folded again under the locks, from the rows. Returns
    what was applied, what was a duplicate and what conflicted (after `on_conflicts` took
    it, inside the transaction, so a conflict is never committed past without being
    handed over)."""
    written = partial(
        _commit,
        conn,
        plan,
        offsets,
        group_id=group_id,
        catalog=catalog,
        cache=cache,
        on_conflicts=on_conflicts,
    )
    try:
        return await written(expect_new=True)
    except EventsStoredAlready:
        # Rare: a batch delivered again after a crash, or taken over from another
        # instance. Rolled back; written again with the statement that sets such events
        # aside (the duplicates, the conflicts).
        return await written(expect_new=False)


async def _commit(
    conn: Connection,
    plan: Plan,
    offsets: PartitionOffsets,
    *,
    group_id: str,
    catalog: Catalog,
    cache: EntityCache,
    on_conflicts: OnConflicts | None,
    expect_new: bool,
) -> BatchResult:
    result = BatchResult(Counter(), Counter(plan.result.duplicates), list(plan.result.conflicts))
    refold = False

    async def checked(name: str, keys: list[Any]) -> dict[Any, Entry]:
        nonlocal refold
        projection = BY_FIELD[name]
        rows = await lock(conn, projection, keys)
        planned = plan.fold.before.get(name, {})
        entries: dict[Any, Entry] = {}
        stale = []
        for key in keys:
            entry = planned.get(key)
            if entry is not None and entry.matches(*rows[key]):
                entries[key] = entry
            else:
                stale.append(key)
        if stale:
            refold = True
            entries.update(await read(conn, projection, stale))
        return entries

    done: Fold | None = None
    try:
        async with conn.transaction():
            refused: list[IncomingEvent] = []
            if expect_new:
                await insert_new_events(conn, plan.incoming)
            else:
                refused = await insert_events(conn, plan.incoming)
            new: Sequence[Event]
            if refused:
                stored = {i.event.key for i in refused}
                new = [i.event for i in plan.incoming if i.event.key not in stored]
            else:
                new = plan.fold.events
            duplicates, conflicts = await find_conflicts(conn, refused)
            result.conflicts.extend(conflicts)
            for item in duplicates:
                result.duplicates[item.event.name] += 1
            refold = bool(refused)  # the plan folded events that were not new
            if new:
                wanted = {name: set(keys) for name, keys in plan.fold.wanted.items()}
                before = await gather(wanted, checked)
                done = (
                    await fold(new, catalog, wanted, before, sliced=False) if refold else plan.fold
                )
                await write_fold(conn, done, new)
            await store_offsets(conn, group_id, offsets)
            xid = int(await conn.fetchval("SELECT pg_current_xact_id()::text::bigint"))
            # Last: a batch refused above is rolled back and retried (or isolated) without
            # its conflicts having been handed over, so they are not handed over twice.
            if result.conflicts and on_conflicts is not None:
                await on_conflicts(result.conflicts)
    except BaseException:
        cache.invalidate()  # the entries this plan left in it were never written
        raise
    if refold:
        # The cache holds the plan's guess, and the next batch, if prepared already,
        # folded onto it: both are dropped, and the cache takes what was written.
        cache.invalidate()
        if done is not None:
            _remember(cache, done, Write(xid))
    else:
        plan.write.xid = xid
    cache.committed(xid)
    result.applied.update(e.name for e in new)
    return replace(result, refolded=refold)


async def write_batch(
    conn: Connection,
    incoming: Sequence[IncomingEvent],
    offsets: PartitionOffsets,
    *,
    group_id: str,
    catalog: Catalog,
    cache: EntityCache | None = None,
    on_conflicts: OnConflicts | None = None,
) -> BatchResult:
    """Prepare and commit a batch on one connection (no overlap with another batch)."""
    cache = cache if cache is not None else EntityCache(0)

    async def read_rows(name: str, keys: list[Any]) -> dict[Any, Entry]:
        return await read(conn, BY_FIELD[name], keys)

    plan = await prepare(incoming, catalog=catalog, cache=cache, read_rows=read_rows)
    return await commit(
        conn,
        plan,
        offsets,
        group_id=group_id,
        catalog=catalog,
        cache=cache,
        on_conflicts=on_conflicts,
    )
