"""The deployments and recoveries tables, kept up to date batch by batch (mostly by going
on from where each pair's derivation stopped), hold what deriving the final state in one
go gives, whatever the order events arrive in."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from golive.contract import Event, decode_record
from golive.domain.delivery import Recovery, Walked, deliveries, walked_deliveries
from golive.domain.model import SignalKind
from golive.store.batches import IncomingEvent, write_batch
from golive.store.cache import EntityCache
from golive.store.db import _init
from golive.store.derived import derive_pending
from golive.store.migrations import migrate
from golive.store.queries import load_state
from tests.integration.scenarios import CATALOG
from tests.integration.streams import synthetic_stream


def items(seed: int) -> list[IncomingEvent]:
    made = []
    for offset, (_, value, headers) in enumerate(synthetic_stream(1500, seed=seed)):
        event = decode_record(value, headers)
        assert isinstance(event, Event), event
        made.append(IncomingEvent(event, value, [], "t", 0, offset))
    return made


async def stored_rows(
    conn: asyncpg.Connection,
) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    deployments = {
        tuple(r.values())
        for r in await conn.fetch(
            "SELECT service, environment, version, deployed_at, artifact, failed_at, rework, "
            "completed, attempt_failed FROM deployments"
        )
    }
    recoveries = {
        tuple(r.values())
        for r in await conn.fetch(
            "SELECT service, environment, started_at, restored_at, cause FROM recoveries"
        )
    }
    return deployments, recoveries


async def derived_from_state(
    conn: asyncpg.Connection,
) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    state = await load_state(conn)
    found = deliveries(state).values()
    deployments = {
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
        for delivery in found
        for d in delivery.deployments
    }
    recoveries = {
        (r.service, r.environment, r.started_at): (
            r.service,
            r.environment,
            r.started_at,
            r.restored_at,
            str(r.cause),
        )
        for delivery in found
        for r in delivery.recoveries
    }
    return deployments, set(recoveries.values())


async def stored_walks(conn: asyncpg.Connection) -> dict[tuple[str, str], Walked]:
    walks = {}
    for r in await conn.fetch("SELECT * FROM delivery_walks"):
        opened = r["open_started_at"]
        walks[(r["service"], r["environment"])] = Walked(
            (r["last_time"], (r["last_source"], r["last_id"])),
            r["current_version"],
            Recovery(r["service"], r["environment"], opened, cause=SignalKind(r["open_cause"]))
            if opened is not None
            else None,
            frozenset(r["open_incidents"]),
        )
    return walks


async def walks_of_state(conn: asyncpg.Connection) -> dict[tuple[str, str], Walked]:
    found = walked_deliveries(await load_state(conn))
    return {key: walked for key, (_, walked) in found.items() if walked.last is not None}


@pytest.mark.asyncio
@pytest.mark.parametrize("shuffled", [False, True], ids=["in order", "out of order"])
async def test_derived_rows_are_the_derivation_of_the_final_state(
    database_url: str, shuffled: bool
) -> None:
    batch = items(seed=3)
    if shuffled:  # late events: pairs are derived whole again when they go back in time
        random.Random(9).shuffle(batch)
    conn = await asyncpg.connect(database_url)
    try:
        await _init(conn)
        await migrate(conn)
        cache = EntityCache(10_000)
        for start in range(0, len(batch), 50):
            await write_batch(
                conn, batch[start : start + 50], {}, group_id="g", catalog=CATALOG, cache=cache
            )
        while await derive_pending(conn, limit=40):  # in several rounds, as the leader may
            pass
        stored = await stored_rows(conn)
        assert stored[0], "the stream deploys"
        assert stored[1], "the stream recovers"
        assert stored == await derived_from_state(conn)
        assert await stored_walks(conn) == await walks_of_state(conn)
    finally:
        await conn.close()
