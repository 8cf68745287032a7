"""Derived tables: deployments, recoveries and artifact changes, which the leader
aggregates in SQL.

Deployments and recoveries are the domain's derivation (`domain.delivery`) of each
(service, environment)'s signals. A batch does not derive them: it queues the pairs
whose signals it changed (`mark_pending`, in its transaction), and the leader derives
them (`derive_pending`, every GOLIVE_DERIVE_INTERVAL and before each evaluation or
report): on from where the pair's last derivation stopped when the new signals come
after it, else over its whole history. Artifact changes are written by the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from golive import fastjson
from golive.domain.delivery import (
    Delivery,
    Deployment,
    Recovery,
    SignalChanges,
    Walked,
    continue_walk,
    derive_walked,
    signal_versions,
)
from golive.domain.model import Artifact, Incident, Rollout, Signal, SignalKind, Timeline
from golive.store import codec
from golive.store.db import Connection
from golive.store.projections import TIMELINE_SEPARATOR

DeliveryKey = tuple[str, str]
# Queued rows a deriver round takes in one transaction.
PENDING_ROUND = 5000


def _pairs(keys: Iterable[DeliveryKey]) -> tuple[list[str], list[str]]:
    ordered = sorted(keys)
    return [s for s, _ in ordered], [e for _, e in ordered]


async def mark_pending(conn: Connection, changes: Mapping[DeliveryKey, SignalChanges]) -> None:
    """Queue, in the batch's transaction, the pairs whose signals it changed, with the
    signals it added: `derive_pending` derives them (insert-only: a batch never waits on
    the deriver)."""
    keys = sorted(changes)
    if not keys:
        return
    await conn.execute(
        """INSERT INTO deliveries_pending (service, environment, added, removed)
           SELECT s, e, a::jsonb, r FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[])
                AS u(s, e, a, r)""",
        [s for s, _ in keys],
        [e for _, e in keys],
        [codec.encode_signals(changes[k].added) for k in keys],
        [changes[k].removed for k in keys],
    )


async def derive_pending(conn: Connection, limit: int = PENDING_ROUND) -> int:
    """Derive the pairs batches queued, oldest first, at most `limit` queued rows in one
    transaction; return how many rows it took (0: none was waiting).

    REPEATABLE READ: the facts read are those of one snapshot, the one in which the taken
    rows' batches committed. A batch committing meanwhile queued rows of its own, taken
    by a later call."""
    async with conn.transaction(isolation="repeatable_read"):
        return await derive_taken(conn, limit)


async def derive_taken(conn: Connection, limit: int = PENDING_ROUND) -> int:
    """`derive_pending`'s work, in the caller's transaction (`golive replay`'s)."""
    rows = await conn.fetch(
        """DELETE FROM deliveries_pending WHERE id IN (
               SELECT id FROM deliveries_pending ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING service, environment, added, removed""",
        limit,
    )
    added: dict[DeliveryKey, list[Signal]] = {}
    removed: set[DeliveryKey] = set()
    for r in rows:
        key = (r["service"], r["environment"])
        added.setdefault(key, []).extend(codec.decode_signals(r["added"]))
        if r["removed"]:
            removed.add(key)
    await refresh(
        conn,
        {key: SignalChanges(tuple(signals), key in removed) for key, signals in added.items()},
    )
    return len(rows)


async def refresh(
    conn: Connection,
    changes: Mapping[DeliveryKey, SignalChanges],
    locked: Mapping[DeliveryKey, Timeline] | None = None,
) -> None:
    """Bring the derived rows of the pairs in `changes` up to date.

    A pair whose added signals all come after where its last derivation stopped (the
    usual case: events arrive about in order) goes on from there
    (`domain.delivery.continue_walk`); any other is derived whole again. `locked` holds
    timelines known current, used instead of reading them."""
    if not changes:
        return
    keys = sorted(changes)
    services, environments = _pairs(keys)
    joined = [f"{s}{TIMELINE_SEPARATOR}{e}" for s, e in keys]
    # One deriver at a time per pair, should two leaders overlap while one hands over.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM "
        "(SELECT hashtextextended(k, 7) AS h FROM unnest($1::text[]) AS k ORDER BY k) AS ordered",
        joined,
    )
    walks = await _load_walks(conn, services, environments)
    going_on = {
        key: walks[key]
        for key in keys
        if key in walks and not changes[key].removed and _after(walks[key], changes[key].added)
    }
    walked = await _continue(conn, going_on, changes)
    whole = [key for key in keys if key not in going_on]
    if whole:
        walked |= await _derive_whole(conn, whole, locked or {})
    await _store_walks(conn, walked)


def _after(walked: Walked, signals: Sequence[Signal]) -> bool:
    return walked.last is None or all((s.time, s.key) > walked.last for s in signals)


async def _load_walks(
    conn: Connection, services: list[str], environments: list[str]
) -> dict[DeliveryKey, Walked]:
    rows = await conn.fetch(
        """SELECT service, environment, last_time, last_source, last_id, current_version,
                  open_started_at, open_cause, open_incidents
           FROM delivery_walks
           WHERE (service, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        services,
        environments,
    )
    walks = {}
    for r in rows:
        last = (
            (r["last_time"], (r["last_source"], r["last_id"]))
            if r["last_time"] is not None
            else None
        )
        open_ = (
            Recovery(
                r["service"],
                r["environment"],
                r["open_started_at"],
                cause=SignalKind(r["open_cause"]),
            )
            if r["open_started_at"] is not None
            else None
        )
        walks[(r["service"], r["environment"])] = Walked(
            last, r["current_version"], open_, frozenset(r["open_incidents"])
        )
    return walks


async def _store_walks(conn: Connection, walks: Mapping[DeliveryKey, Walked]) -> None:
    """Store where each derivation stopped; a pair left without signals has none."""
    empty = sorted(k for k, w in walks.items() if w.last is None)
    if empty:
        await conn.execute(
            "DELETE FROM delivery_walks WHERE (service, environment) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))",
            *_pairs(empty),
        )
    rows = [(k, walks[k]) for k in sorted(walks) if walks[k].last is not None]
    if not rows:
        return
    await conn.execute(
        """INSERT INTO delivery_walks (service, environment, last_time, last_source, last_id,
               current_version, open_started_at, open_cause, open_incidents)
           SELECT s, e, t, ls, li, cv, os, oc, ARRAY(SELECT jsonb_array_elements_text(oi::jsonb))
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                       $6::text[], $7::timestamptz[], $8::text[], $9::text[])
                AS u(s, e, t, ls, li, cv, os, oc, oi)
           ON CONFLICT (service, environment) DO UPDATE
           SET last_time = EXCLUDED.last_time, last_source = EXCLUDED.last_source,
               last_id = EXCLUDED.last_id, current_version = EXCLUDED.current_version,
               open_started_at = EXCLUDED.open_started_at, open_cause = EXCLUDED.open_cause,
               open_incidents = EXCLUDED.open_incidents""",
        [k[0] for k, _ in rows],
        [k[1] for k, _ in rows],
        [w.last[0] if w.last else None for _, w in rows],
        [w.last[1][0] if w.last else None for _, w in rows],
        [w.last[1][1] if w.last else None for _, w in rows],
        [w.current for _, w in rows],
        [w.open.started_at if w.open else None for _, w in rows],
        [str(w.open.cause) if w.open else None for _, w in rows],
        # JSON text, not lists: asyncpg would read nested lists as a 2-D array.
        [fastjson.dumps_finite(sorted(w.open_incidents)) for _, w in rows],
    )


async def _continue(
    conn: Connection,
    walks: Mapping[DeliveryKey, Walked],
    changes: Mapping[DeliveryKey, SignalChanges],
) -> dict[DeliveryKey, Walked]:
    """Walk each pair's new signals on from where it stopped; write what that changed."""
    if not walks:
        return {}
    wanted = sorted(
        (key[0], key[1], version)
        for key, walked in walks.items()
        for version in signal_versions(walked, changes[key].added)
    )
    deployed: dict[DeliveryKey, dict[str, Deployment]] = {}
    for r in await conn.fetch(
        f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments "
        "WHERE (service, environment, version) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
        *_columns(wanted, 3),
    ):
        deployed.setdefault((r["service"], r["environment"]), {})[r["version"]] = Deployment(
            *r.values()
        )
    deployments: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    recoveries: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    walked_on = {}
    for key, walked in walks.items():
        made, recovered, walked_on[key] = continue_walk(
            *key, walked, deployed.get(key, {}), changes[key].added
        )
        for d in made:
            deployments[d.service, d.environment, d.version] = _deployment_row(d)
        for recovery in recovered:
            recoveries[recovery.service, recovery.environment, recovery.started_at] = _recovery_row(
                recovery
            )
    await _upsert_deployments(conn, [deployments[k] for k in sorted(deployments)])
    await _upsert_recoveries(conn, [recoveries[k] for k in sorted(recoveries)])
    return walked_on


async def _derive_whole(
    conn: Connection, keys: list[DeliveryKey], locked: Mapping[DeliveryKey, Timeline]
) -> dict[DeliveryKey, Walked]:
    """Derive each pair from all its facts; write the difference from its stored rows.
    `locked` holds timelines the caller's transaction has locked and brought up to date:
    they are taken as they are instead of being read and decoded again."""
    services, environments = _pairs(keys)
    in_keys = "(service, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    unread = [f"{s}{TIMELINE_SEPARATOR}{e}" for s, e in keys if (s, e) not in locked]
    timelines = {
        r["key"]: codec.decode_timeline(r["doc"])
        for r in await conn.fetch(
            "SELECT key, doc FROM timelines WHERE key = ANY($1::text[]) AND doc IS NOT NULL", unread
        )
    }
    incidents: dict[DeliveryKey, list[Incident]] = {}
    for r in await conn.fetch(
        "SELECT key, service, environment, detected_at, resolved_at "
        f"FROM incidents WHERE {in_keys}",
        services,
        environments,
    ):
        incidents.setdefault((r["service"], r["environment"]), []).append(
            Incident(
                r["key"], r["service"], r["environment"], None, r["detected_at"], r["resolved_at"]
            )
        )
    rollouts: dict[DeliveryKey, list[Rollout]] = {}
    for r in await conn.fetch(
        "SELECT key, service, environment, from_version, to_version, finished_at, outcome "
        f"FROM rollouts WHERE outcome IS NOT NULL AND {in_keys}",
        services,
        environments,
    ):
        rollouts.setdefault((r["service"], r["environment"]), []).append(
            Rollout(
                r["key"],
                r["service"],
                r["environment"],
                from_version=r["from_version"],
                to_version=r["to_version"],
                finished_at=r["finished_at"],
                outcome=r["outcome"],
            )
        )
    deliveries: list[Delivery] = []
    walks = {}
    for key in keys:
        joined = f"{key[0]}{TIMELINE_SEPARATOR}{key[1]}"
        timeline = locked.get(key) or timelines.get(joined) or Timeline(*key)
        delivery, walks[key] = derive_walked(
            timeline, incidents.get(key, ()), rollouts.get(key, ())
        )
        deliveries.append(delivery)
    await _replace(conn, services, environments, deliveries)
    return walks


_DEPLOYMENT_COLUMNS = (
    "service, environment, version, deployed_at, artifact, failed_at, rework, completed, "
    "attempt_failed"
)


def _deployment_row(d: Deployment) -> tuple[Any, ...]:
    return (
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


def _recovery_row(r: Recovery) -> tuple[Any, ...]:
    return (r.service, r.environment, r.started_at, r.restored_at, str(r.cause))


async def _replace(
    conn: Connection, services: list[str], environments: list[str], deliveries: list[Delivery]
) -> None:
    """Make the stored rows of these pairs the derived ones, writing only what differs:
    a pair's history is re-derived whole, but most of it is as stored, and rewriting it
    all was most of Postgres's time for this table (docs/performance.md)."""
    in_keys = "(service, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    deployments = {
        (d.service, d.environment, d.version): _deployment_row(d)
        for delivery in deliveries
        for d in delivery.deployments
    }
    # Two recoveries of a pair started at one instant: the later one is kept, as when a
    # derivation goes on (`continue_walk`).
    recoveries = {
        (r.service, r.environment, r.started_at): _recovery_row(r)
        for delivery in deliveries
        for r in delivery.recoveries
    }
    stored = await conn.fetch(
        f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE {in_keys}", services, environments
    )
    gone, changed = _difference(stored, deployments, key_size=3)
    if gone:
        await conn.execute(
            "DELETE FROM deployments WHERE (service, environment, version) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
            *_columns(gone, 3),
        )
    await _upsert_deployments(conn, changed)
    stored = await conn.fetch(
        "SELECT service, environment, started_at, restored_at, cause "
        f"FROM recoveries WHERE {in_keys}",
        services,
        environments,
    )
    gone, changed = _difference(stored, recoveries, key_size=3)
    if gone:
        await conn.execute(
            "DELETE FROM recoveries WHERE (service, environment, started_at) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]))",
            *_columns(gone, 3),
        )
    await _upsert_recoveries(conn, changed)


async def _upsert_deployments(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        await conn.execute(
            """INSERT INTO deployments (service, environment, version, deployed_at, artifact,
                   failed_at, rework, completed, attempt_failed)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
                   $5::text[], $6::timestamptz[], $7::bool[], $8::bool[], $9::bool[])
               ON CONFLICT (service, environment, version) DO UPDATE
               SET deployed_at = EXCLUDED.deployed_at, artifact = EXCLUDED.artifact,
                   failed_at = EXCLUDED.failed_at, rework = EXCLUDED.rework,
                   completed = EXCLUDED.completed, attempt_failed = EXCLUDED.attempt_failed""",
            *_columns(rows, 9),
        )


async def _upsert_recoveries(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        await conn.execute(
            """INSERT INTO recoveries (service, environment, started_at, restored_at, cause)
               SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[],
                   $4::timestamptz[], $5::text[])
               ON CONFLICT (service, environment, started_at) DO UPDATE
               SET restored_at = EXCLUDED.restored_at, cause = EXCLUDED.cause""",
            *_columns(rows, 5),
        )


def _difference(
    stored: Sequence[Any], wanted: Mapping[tuple[Any, ...], tuple[Any, ...]], key_size: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The keys of stored rows `wanted` lacks, and the rows of `wanted` stored otherwise
    or not at all (both sorted: one lock order for every instance)."""
    held = {row[:key_size]: row for row in map(tuple, stored)}
    gone = sorted(held.keys() - wanted.keys())
    changed = [row for key, row in sorted(wanted.items()) if held.get(key) != row]
    return gone, changed


def _columns(rows: Sequence[tuple[Any, ...]], size: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(size)]


async def add_artifact_changes(conn: Connection, artifacts: Iterable[Artifact]) -> None:
    """An artifact's set of changes only grows: insert what is new."""
    pairs = sorted({(a.id, c) for a in artifacts for c in a.changes})
    if pairs:
        await conn.execute(
            """INSERT INTO artifact_changes (artifact, change)
               SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
            [a for a, _ in pairs],
            [c for _, c in pairs],
        )


async def add_team_activity(
    conn: Connection, buckets: Mapping[tuple[str, datetime], tuple[int, datetime, datetime]]
) -> None:
    """Add a batch's team activity (`domain.teams.apply_counting_activity`) to its buckets."""
    if not buckets:
        return
    # One lock order for every instance: no deadlock. The rows as one JSON document, as
    # the events and entities go (`batches.insert_events`).
    rows = fastjson.dumps_finite([(*key, *buckets[key]) for key in sorted(buckets)])
    await conn.execute(
        """INSERT INTO team_activity (team, bucket, events, first_at, last_at)
           SELECT r->>0, (r->>1)::timestamptz, (r->>2)::bigint, (r->>3)::timestamptz,
                  (r->>4)::timestamptz
           FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS u(r, n)
           ORDER BY n
           ON CONFLICT (team, bucket) DO UPDATE
           SET events = team_activity.events + EXCLUDED.events,
               first_at = LEAST(team_activity.first_at, EXCLUDED.first_at),
               last_at = GREATEST(team_activity.last_at, EXCLUDED.last_at)""",
        rows,
    )
