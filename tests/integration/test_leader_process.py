"""The leader's heavy work in a child process (`golive.leader.process`): it answers as the
same reads in this process would, and a lost or cut-short child is replaced, never left
behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from bench.throughput import child_pids
from golive.domain.alerts import evaluate_alerts
from golive.domain.delivery import deliveries
from golive.domain.periods import Period
from golive.leader.process import Config, LeaderProcess, LeaderProcessLost
from golive.metrics.kpis import render_state
from golive.store.batches import IncomingEvent, write_batch
from golive.store.db import PacedConnection, _init, create_pool
from golive.store.errors import StoreUnavailableError
from golive.store.kpis import load_snapshot
from golive.store.migrations import migrate
from golive.store.queries import load_state
from tests.integration.scenarios import CATALOG, NOW, SCENARIO, ingest
from tests.integration.service import free_port, wait_for


def alive(pid: int) -> bool:
    """Whether `pid` is a child of this process that has not exited."""
    return pid in child_pids(os.getpid())


@pytest_asyncio.fixture
async def stored(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await ingest(database_url, SCENARIO)
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def leader_process(dsn: str, log_level: str) -> AsyncIterator[LeaderProcess]:
    process = LeaderProcess(Config(dsn, CATALOG, log_level, ("s3cret",)))
    try:
        yield process
    finally:
        await process.close()


@pytest_asyncio.fixture
async def leader(database_url: str) -> AsyncIterator[LeaderProcess]:
    async with leader_process(database_url, "WARNING") as process:
        yield process


@pytest.mark.asyncio
async def test_the_child_answers_as_the_reads_in_this_process_would(
    stored: asyncpg.Connection, leader: LeaderProcess
) -> None:
    evaluated = await leader.evaluate(NOW)

    snapshot = await load_snapshot(stored, CATALOG, NOW)
    assert evaluated.state == render_state(snapshot)
    assert b"golive_dora_deployment_frequency_per_day{" in evaluated.state
    assert evaluated.alerts == evaluate_alerts(snapshot, CATALOG, NOW)
    assert evaluated.alerts, "the scenario has alerts firing: the comparison would be empty"
    pid = leader.pid
    assert pid is not None
    assert pid != os.getpid()
    assert alive(pid)

    thursday = Period("daily", date(2026, 11, 19), "UTC")
    assert await leader.publish(thursday, NOW, delivery_due=False) is True
    assert await leader.publish(thursday, NOW, delivery_due=False) is False  # once
    row = await stored.fetchrow(
        "SELECT markdown, delivery_due FROM published_reports WHERE label = $1", thursday.label
    )
    assert row is not None
    assert not row["delivery_due"]
    assert "2026-11-19" in row["markdown"]
    assert leader.pid == pid  # one child serves every request

    await leader.close()
    assert leader.pid is None
    await wait_for(lambda: not alive(pid), timeout=10, what="the child to exit at end of input")


@pytest.mark.asyncio
async def test_a_lost_child_fails_one_request_and_the_next_starts_another(
    stored: asyncpg.Connection, leader: LeaderProcess
) -> None:
    await leader.evaluate(NOW)
    first = leader.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    # The kill may be noticed by this request (lost) or, once reaped, before it is sent.
    for _ in range(2):
        try:
            evaluated = await leader.evaluate(NOW)
            break
        except LeaderProcessLost:
            assert leader.pid is None
    else:
        pytest.fail("no child answered after the first one was killed")
    assert leader.pid not in (None, first)
    assert evaluated.state == render_state(await load_snapshot(stored, CATALOG, NOW))


@pytest.mark.asyncio
async def test_postgres_out_of_reach_is_unavailable_and_the_child_stays() -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    async with leader_process(unreachable, "CRITICAL") as leader:
        with pytest.raises(StoreUnavailableError, match="cannot connect to Postgres"):
            await leader.evaluate(NOW)
        pid = leader.pid
        with pytest.raises(StoreUnavailableError):
            await leader.publish(Period("daily", date(2026, 11, 19), "UTC"), NOW, False)
        assert leader.pid == pid
        assert pid is not None
        assert alive(pid)


@pytest.mark.asyncio
async def test_a_request_cut_short_leaves_no_child_behind(
    stored: asyncpg.Connection, leader: LeaderProcess
) -> None:
    await leader.evaluate(NOW)  # started: the next request goes straight to it
    pid = leader.pid
    assert pid is not None
    request = asyncio.create_task(leader.evaluate(NOW))
    for _ in range(3):  # sent: a few turns of the loop, far less than an answer takes
        await asyncio.sleep(0)
    assert not request.done()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request

    await leader.close()  # its answer is pending: the child is killed, not waited on
    assert not alive(pid)
    evaluated = await leader.evaluate(NOW)  # and the next request has a new one
    assert leader.pid not in (None, pid)
    assert evaluated.state == render_state(await load_snapshot(stored, CATALOG, NOW))


@pytest.mark.asyncio
async def test_the_leader_processs_connection_rests_as_long_as_each_statement_took(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, size=1, connection_class=PacedConnection)
    try:
        async with pool.acquire() as conn:
            started = time.perf_counter()
            assert await conn.fetchval("SELECT 42 FROM pg_sleep(0.2)") == 42
            took = time.perf_counter() - started
            with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
                await conn.fetchval("SELECT 1 / 0")
            # The rest is a sleep: it cannot be shorter than the statement.
            assert took >= 0.4
            rows = await conn.fetch("SELECT g FROM generate_series(1, 3) AS g")
            assert [r["g"] for r in rows] == [1, 2, 3]
    finally:
        await pool.close()


async def queued(database_url: str, events: list[Any]) -> asyncpg.Connection:
    """`events` written as batches write them: their deliveries queued, not derived."""
    conn = await asyncpg.connect(database_url)
    await _init(conn)
    await migrate(conn)
    await write_batch(
        conn, [IncomingEvent(e, b"{}") for e in events], {}, group_id="g", catalog=CATALOG
    )
    return conn


async def derived_rows(conn: asyncpg.Connection) -> set[tuple[Any, ...]]:
    return {
        (r["service"], r["environment"], r["version"], r["failed_at"])
        for r in await conn.fetch("SELECT * FROM deployments")
    }


@pytest.mark.asyncio
async def test_the_child_derives_the_deliveries_batches_queued(
    database_url: str, leader: LeaderProcess
) -> None:
    conn = await queued(database_url, SCENARIO)
    try:
        waiting = await conn.fetchval("SELECT count(*) FROM deliveries_pending")
        assert waiting > 0
        assert await derived_rows(conn) == set()

        derived = await leader.derive(budget=10)

        assert (derived.rows, derived.pending) == (waiting, 0)
        state = await load_state(conn)
        expected = {
            (d.service, d.environment, d.version, d.failed_at)
            for delivery in deliveries(state).values()
            for d in delivery.deployments
        }
        assert expected
        assert await derived_rows(conn) == expected
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_an_evaluation_derives_what_is_queued_before_it_reads(
    database_url: str, leader: LeaderProcess
) -> None:
    conn = await queued(database_url, SCENARIO)
    try:
        evaluated = await leader.evaluate(NOW)

        assert await conn.fetchval("SELECT count(*) FROM deliveries_pending") == 0
        assert b"golive_dora_deployment_frequency_per_day{" in evaluated.state
        snapshot = await load_snapshot(conn, CATALOG, NOW)
        assert evaluated.state == render_state(snapshot)
    finally:
        await conn.close()
