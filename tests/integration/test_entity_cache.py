"""Batches folded ahead onto cached entities (`store.batches.prepare`, `store.cache`)
against a real Postgres: whatever changed a row behind the cache's back, and however
plans overlap, the database ends as one plain fold of the events leaves it."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from golive.contract import Event, decode_record
from golive.store.batches import BatchResult, IncomingEvent, Plan, commit, prepare, write_batch
from golive.store.cache import EntityCache, Entry
from golive.store.projections import BY_FIELD, read
from tests.integration.databases import connected, fresh_database
from tests.integration.scenarios import CATALOG
from tests.integration.service import dump_state
from tests.integration.streams import synthetic_stream

STREAM = synthetic_stream(1200, seed=5)


def incoming() -> list[IncomingEvent]:
    items = []
    for offset, (_, value, headers) in enumerate(STREAM):
        event = decode_record(value, headers)
        assert isinstance(event, Event), event
        kept = [
            (k, v.decode()) for k, v in headers
        ]  # as the consumer keeps them: replay reads them
        items.append(IncomingEvent(event, value, kept, "t", 0, offset))
    return items


ITEMS = incoming()


async def reference(postgres_dsn: str) -> dict[str, Any]:
    """The state of the stream written in batches of 100, with no cache."""
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as conn:
            for start in range(0, len(ITEMS), 100):
                await write_batch(
                    conn, ITEMS[start : start + 100], {}, group_id="g", catalog=CATALOG
                )
        return await dump_state(dsn)


async def planned(
    conn: asyncpg.Connection, cache: EntityCache, batch: Sequence[IncomingEvent]
) -> Plan:
    async def read_rows(name: str, keys: list[Any]) -> dict[Any, Entry]:
        return await read(conn, BY_FIELD[name], keys)

    return await prepare(batch, catalog=CATALOG, cache=cache, read_rows=read_rows)


async def committed(conn: asyncpg.Connection, cache: EntityCache, plan: Plan) -> BatchResult:
    return await commit(conn, plan, {}, group_id="g", catalog=CATALOG, cache=cache)


@pytest.mark.asyncio
async def test_batches_folded_ahead_of_the_commit_before_them_give_the_state_of_one_fold(
    postgres_dsn: str,
) -> None:
    # As the consumer overlaps them: batch n+1 is prepared before batch n commits.
    expected = await reference(postgres_dsn)
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as conn:
            cache = EntityCache(10_000)
            ahead = await planned(conn, cache, ITEMS[:150])
            for start in range(150, len(ITEMS) + 150, 150):
                plan = ahead
                if start < len(ITEMS):
                    ahead = await planned(conn, cache, ITEMS[start : start + 150])
                await committed(conn, cache, plan)
                assert ahead.is_current(cache)  # every commit went as planned
            assert len(cache) > 0
        assert await dump_state(dsn) == expected


@pytest.mark.asyncio
async def test_rows_another_instance_changed_are_read_again_under_the_lock(
    postgres_dsn: str,
) -> None:
    # Two instances, each with its own cache, write batches that share teams, services
    # and releases, alternately: each one's cache is stale for what the other wrote.
    expected = await reference(postgres_dsn)
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as one, connected(dsn) as other:
            caches = (EntityCache(10_000), EntityCache(10_000))
            for n, start in enumerate(range(0, len(ITEMS), 100)):
                conn, cache = (one, caches[0]) if n % 2 == 0 else (other, caches[1])
                await write_batch(
                    conn, ITEMS[start : start + 100], {}, group_id="g", catalog=CATALOG, cache=cache
                )
        assert await dump_state(dsn) == expected


@pytest.mark.asyncio
async def test_instances_that_share_only_teams_never_fold_again(postgres_dsn: str) -> None:
    # As two instances consuming partitions of records keyed by subject: they share no
    # entity but the teams, which a batch adds to instead of folding onto. Each prepares
    # its batch before the other commits one that counted activity of the same teams.
    expected = await reference(postgres_dsn)
    parts: tuple[list[IncomingEvent], list[IncomingEvent]] = ([], [])
    for item in ITEMS:
        parts[zlib.crc32(item.event.subject_id.encode()) % 2].append(item)
    assert all(parts)
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as one, connected(dsn) as other:
            instances = ((one, EntityCache(10_000)), (other, EntityCache(10_000)))
            results = []
            for start in range(0, max(map(len, parts)), 100):
                batches = [
                    (instance, part[start : start + 100])
                    for instance, part in zip(instances, parts, strict=True)
                    if part[start:]
                ]
                plans = [(i, await planned(*i, batch)) for i, batch in batches]
                for (conn, cache), plan in plans:
                    results.append(await committed(conn, cache, plan))
        assert await dump_state(dsn) == expected
    assert len(results) >= 12
    assert all(r.applied for r in results)
    assert not [r for r in results if r.refolded]


@pytest.mark.asyncio
async def test_a_plan_holding_events_already_stored_is_folded_again_and_the_next_prepared_again(
    postgres_dsn: str,
) -> None:
    # Batch n's events turn out to be stored already (as after a crash before the Kafka
    # commit): its plan counted them as new, and batch n+1 was folded onto that plan.
    expected = await reference(postgres_dsn)
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as conn:
            cache = EntityCache(10_000)
            await committed(conn, cache, await planned(conn, cache, ITEMS[:400]))
            again = await planned(conn, cache, ITEMS[300:700])  # 300-399 are stored
            after = await planned(conn, cache, ITEMS[700:])
            assert (await committed(conn, cache, again)).refolded
            assert not after.is_current(cache)
            await committed(conn, cache, await planned(conn, cache, ITEMS[700:]))
        assert await dump_state(dsn) == expected


@pytest.mark.asyncio
async def test_a_cached_row_rewritten_by_replay_is_read_again(postgres_dsn: str) -> None:
    # `golive replay` truncates and rebuilds the projections while instances run.
    from golive.store.replay import replay

    expected = await reference(postgres_dsn)
    async with fresh_database(postgres_dsn) as dsn:
        async with connected(dsn) as conn:
            cache = EntityCache(10_000)
            half = len(ITEMS) // 2
            for start in range(0, half, 100):
                await committed(
                    conn, cache, await planned(conn, cache, ITEMS[start : min(start + 100, half)])
                )
            await replay(conn, CATALOG, max_bytes=1 << 20)
            for start in range(half, len(ITEMS), 100):
                await committed(conn, cache, await planned(conn, cache, ITEMS[start : start + 100]))
        assert await dump_state(dsn) == expected
