"""Projection tables: how each State field maps to a table, and set-based load/save.

Loading locks the rows (`FOR UPDATE`, in key order, tables in `ENTITY_FIELDS` order) so
that instances applying events to the same entity serialise instead of losing updates;
a placeholder row is inserted first for keys not stored yet, so that even the first
write of an entity is serialised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from golive import fastjson
from golive.domain.ecs import Fleet
from golive.domain.model import Artifact, Change, Incident, Release, Rollout, Task, Team, Timeline
from golive.domain.rollouts import availability
from golive.store import codec
from golive.store.cache import ABSENT, MAX_XID_SPAN, Entry, Write
from golive.store.db import Connection

TIMELINE_SEPARATOR = "\x1f"

Entity = Release | Task | Team | Rollout | Incident | Change | Artifact | Timeline | Fleet


@dataclass(frozen=True, slots=True)
class Projection:
    field: str  # State attribute
    table: str
    columns: tuple[tuple[str, str], ...]  # (column, SQL type) besides key and doc
    row: Callable[[Any], tuple[Any, ...]]  # entity -> values of `columns`
    decode: Callable[[Mapping[str, Any]], Any]

    @staticmethod
    def db_key(state_key: Any) -> str:
        if isinstance(state_key, tuple):
            return TIMELINE_SEPARATOR.join(state_key)
        return str(state_key)

    def state_key(self, db_key: str) -> Any:
        if self.field == "timelines":
            service, _, environment = db_key.partition(TIMELINE_SEPARATOR)
            return (service, environment)
        return db_key


def _release(r: Release) -> tuple[Any, ...]:
    return (r.status, r.target_date)


def _task(t: Task) -> tuple[Any, ...]:
    return (t.release, t.team, t.status, t.kind, t.due, t.done_at, t.last_event_at)


def _team(t: Team) -> tuple[Any, ...]:
    return (t.last_activity, t.events)


def _rollout(r: Rollout) -> tuple[Any, ...]:
    # A finished rollout's cost does not depend on `now`: store it for the leader's SQL.
    cost = availability(r, r.finished_at) if r.finished_at is not None else None
    return (
        r.service,
        r.environment,
        r.started_at,
        r.finished_at,
        r.outcome,
        r.from_version,
        r.to_version,
        cost.duration if cost else None,
        cost.downtime if cost else None,
        cost.degraded if cost else None,
        r.last_event_at,
    )


def _incident(i: Incident) -> tuple[Any, ...]:
    return (i.service, i.environment, i.detected_at, i.resolved_at)


def _change(c: Change) -> tuple[Any, ...]:
    return (c.started_at,)


def _timeline(t: Timeline) -> tuple[Any, ...]:
    return (t.service, t.environment)


def _fleet(f: Fleet) -> tuple[Any, ...]:
    return (f.cluster, f.service)


TS = "timestamptz"
PROJECTIONS: tuple[Projection, ...] = (
    Projection(
        "releases",
        "releases",
        (("status", "text"), ("target_date", TS)),
        _release,
        codec.decode_release,
    ),
    Projection(
        "tasks",
        "tasks",
        (
            ("release", "text"),
            ("team", "text"),
            ("status", "text"),
            ("kind", "text"),
            ("due", TS),
            ("done_at", TS),
            ("last_event_at", TS),
        ),
        _task,
        codec.decode_task,
    ),
    Projection(
        "teams", "teams", (("last_activity", TS), ("events", "bigint")), _team, codec.decode_team
    ),
    Projection(
        "fleets", "fleets", (("cluster", "text"), ("service", "text")), _fleet, codec.decode_fleet
    ),
    Projection(
        "rollouts",
        "rollouts",
        (
            ("service", "text"),
            ("environment", "text"),
            ("started_at", TS),
            ("finished_at", TS),
            ("outcome", "text"),
            ("from_version", "text"),
            ("to_version", "text"),
            ("duration_s", "float8"),
            ("downtime_s", "float8"),
            ("degraded_s", "float8"),
            ("last_event_at", TS),
        ),
        _rollout,
        codec.decode_rollout,
    ),
    Projection(
        "incidents",
        "incidents",
        (("service", "text"), ("environment", "text"), ("detected_at", TS), ("resolved_at", TS)),
        _incident,
        codec.decode_incident,
    ),
    Projection("changes", "changes", (("started_at", TS),), _change, codec.decode_change),
    Projection("artifacts", "artifacts", (), lambda _a: (), codec.decode_artifact),
    Projection(
        "timelines",
        "timelines",
        (("service", "text"), ("environment", "text")),
        _timeline,
        codec.decode_timeline,
    ),
)
BY_FIELD = {p.field: p for p in PROJECTIONS}


async def lock_and_load(
    conn: Connection, projection: Projection, state_keys: Iterable[Any]
) -> dict[Any, Any]:
    """Lock the rows of `state_keys` (creating placeholders) and return the stored entities."""
    keys = list(state_keys)
    await lock(conn, projection, keys)
    entries = await read(conn, projection, keys)
    return {k: e.entity for k, e in entries.items() if e.entity is not None}


async def lock(
    conn: Connection, projection: Projection, state_keys: Iterable[Any]
) -> dict[Any, tuple[int, bool]]:
    """Lock the rows of `state_keys`, creating placeholders for keys not stored yet; return
    each row's xmin and whether it holds an entity (`cache.Entry.matches` reads them)."""
    keys = sorted({projection.db_key(k) for k in state_keys})
    if not keys:
        return {}
    table = projection.table
    # One round trip, not two: a batch locks every entity kind it touches, and on a busy
    # instance each round trip waits for the loop (docs/performance.md, seventh round).
    # The locking SELECT reads the statement's snapshot: it skips the rows the INSERT
    # creates (RETURNING gives those) and any row another transaction committed after
    # the snapshot, which the INSERT found taken; those are locked by a second statement.
    held = (
        f"SELECT key, xmin::text::bigint AS xmin, doc IS NOT NULL AS stored FROM {table} "
        "WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE"
    )
    rows = await conn.fetch(
        f"WITH created AS (INSERT INTO {table} (key) SELECT k FROM unnest($1::text[]) AS k "
        "ORDER BY k ON CONFLICT (key) DO NOTHING RETURNING key, xmin), "
        f"held AS ({held}) "
        "SELECT key, xmin::text::bigint AS xmin, false AS stored FROM created "
        "UNION ALL SELECT key, xmin, stored FROM held",
        keys,
    )
    if len(rows) < len(keys):
        seen = {r["key"] for r in rows}
        rows += await conn.fetch(held, [k for k in keys if k not in seen])
    return {projection.state_key(r["key"]): (r["xmin"], r["stored"]) for r in rows}


async def read(
    conn: Connection, projection: Projection, state_keys: Iterable[Any]
) -> dict[Any, Entry]:
    """The stored entity of each of `state_keys` (`ABSENT` where none), with the write
    that made its row: a row written longer ago than the cache trusts xmins gets none."""
    wanted = list(state_keys)
    keys = sorted({projection.db_key(k) for k in wanted})
    if not keys:
        return {}
    rows = await conn.fetch(
        f"SELECT key, doc, xmin::text::bigint AS xmin, age(xmin) < $2 AS recent "
        f"FROM {projection.table} WHERE key = ANY($1::text[]) AND doc IS NOT NULL",
        keys,
        MAX_XID_SPAN,
    )
    found = {
        projection.state_key(r["key"]): Entry(
            projection.decode(r["doc"]), Write(r["xmin"]) if r["recent"] else None
        )
        for r in rows
    }
    return {k: found.get(k, ABSENT) for k in wanted}


@dataclass(frozen=True, slots=True)
class Rows:
    """Entities of one projection as the statement that saves them takes them: the
    entity documents as one JSON array, and their keys and derived columns as another,
    one `[key, *columns]` row each (`save_rows`)."""

    count: int
    docs: str
    keyed: str

    def __len__(self) -> int:
        return self.count


def rows_of(projection: Projection, entities: Mapping[Any, Any]) -> Rows:
    """Encode `entities` for `save`: pure, so a batch does it before its transaction."""
    return rows_with(projection, entities, [codec.encode_text(e) for e in entities.values()])


def rows_with(projection: Projection, entities: Mapping[Any, Any], docs: list[str]) -> Rows:
    """`rows_of`, with each entity's document encoded already (`codec.encode_text`, in
    the order of `entities`): a batch encodes its entities a slice at a time."""
    # The documents are JSON text already: joined, not encoded again.
    # The derived columns' floats are a finished rollout's durations, differences of
    # datetimes: finite, as `dumps_finite` needs (`encode_text` checks the entities').
    keyed = fastjson.dumps_finite(
        [(projection.db_key(k), *projection.row(e)) for k, e in entities.items()]
    )
    return Rows(len(entities), f"[{','.join(docs)}]", keyed)


async def save(conn: Connection, projection: Projection, entities: Mapping[Any, Any]) -> None:
    """Write entities back in one statement (rows exist: `lock` made them)."""
    await save_rows(conn, projection, rows_of(projection, entities))


async def save_rows(conn: Connection, projection: Projection, rows: Rows) -> None:
    await save_all(conn, [(projection, rows)])


async def save_all(conn: Connection, saves: Sequence[tuple[Projection, Rows]]) -> None:
    """Write back the rows of several projections in one statement (each its own UPDATE
    in a CTE): one round trip for a batch's entities, where each round trip of a batch
    waits for the event loop, busy folding the next one (docs/performance.md)."""
    saves = [(projection, rows) for projection, rows in saves if rows]
    if not saves:
        return
    updates = [
        f"s{n} AS ({_update(projection, keyed=f'${2 * n + 1}', docs=f'${2 * n + 2}')})"
        for n, (projection, _) in enumerate(saves)
    ]
    await conn.execute(
        f"WITH {', '.join(updates)} SELECT",
        *(text for _, rows in saves for text in (rows.keyed, rows.docs)),
    )


def _update(projection: Projection, *, keyed: str, docs: str) -> str:
    # Two JSON documents, not an array a column: asyncpg encodes arrays element by
    # element in Python, and this process is the one short of CPU; Postgres reads the
    # documents (docs/performance.md, eighth round). The two arrays are zipped back by
    # position. A derived column is read from its row's text (`->>`), cast to its type.
    sets = ", ".join(
        [
            "doc = u.doc",
            *(
                f"{column} = (u.r->>{i + 1})::{sql_type}"
                for i, (column, sql_type) in enumerate(projection.columns)
            ),
            "updated_at = now()",
        ]
    )
    return (
        f"UPDATE {projection.table} AS t SET {sets} "
        f"FROM ROWS FROM (jsonb_array_elements({keyed}::text::jsonb), "
        f"jsonb_array_elements({docs}::text::jsonb)) AS u(r, doc) WHERE t.key = u.r->>0"
    )
