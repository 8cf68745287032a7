"""The leader publishes each closed period's report once: stored in Postgres, listed and
served by the API, and POSTed to the webhook with retries, never twice (issue 6).

Real Postgres, a real HTTP receiver on 127.0.0.1 (tests/integration/webhook_server.py);
the hand scenario of test_reports.py, with `now` = Friday 20 November 2026, 12:00 UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from golive.clock import FrozenClock
from golive.metrics.kpis import LeaderMetrics
from golive.publishing.publisher import Publisher, Webhook, retry_delay
from golive.store.db import create_pool
from tests.integration.scenarios import CATALOG, NOW, SCENARIO
from tests.integration.service import api_client, running, service_env, wait_for
from tests.integration.test_kpi_snapshot import ingest
from tests.integration.webhook_server import Receiver, webhook_receiver

DELAY = timedelta(minutes=15)


@pytest_asyncio.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    conn = await ingest(database_url, SCENARIO)
    await conn.close()
    pool = await create_pool(database_url)
    try:
        yield pool
    finally:
        await pool.close()


def publisher(
    pool: asyncpg.Pool,
    clock: FrozenClock,
    client: httpx.AsyncClient | None = None,
    receiver: Receiver | None = None,
    leading: bool = True,
) -> Publisher:
    webhook = None
    if receiver is not None and client is not None:
        webhook = Webhook(receiver.url, "s3cret", client)
    return Publisher(
        pool,
        CATALOG,
        clock,
        LeaderMetrics(CollectorRegistry()),
        leading=lambda: leading,
        kinds=("daily", "weekly", "monthly"),
        timezone="UTC",
        delay=DELAY,
        webhook=webhook,
        interval=1.0,
    )


@pytest.mark.asyncio
async def test_each_closed_period_is_published_once(pool: asyncpg.Pool) -> None:
    clock = FrozenClock(NOW)
    first = publisher(pool, clock)
    labels = [p.label for p in await first.publish_closed()]
    # The last complete day, ISO week and month at Friday noon; nothing older.
    assert labels == ["2026-11-19", "2026-W46", "2026-10"]
    assert await first.publish_closed() == []  # already there
    assert await publisher(pool, clock).publish_closed() == []  # another instance too

    clock.advance((timedelta(hours=12, minutes=14)).total_seconds())  # Sat 00:14
    assert await first.publish_closed() == []  # Friday waits for late events
    clock.advance(120)  # Sat 00:16: Friday is published
    assert [p.label for p in await first.publish_closed()] == ["2026-11-20"]

    # Down from Saturday to Tuesday 02:00: the missed days are caught up, in order,
    # and week 47 closes.
    clock.advance(timedelta(days=3, hours=2).total_seconds())
    assert [p.label for p in await first.publish_closed()] == [
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
        "2026-W47",
    ]
    async with pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM published_reports")
    assert count == 8


@pytest.mark.asyncio
async def test_a_standby_publishes_nothing(pool: asyncpg.Pool) -> None:
    await publisher(pool, FrozenClock(NOW), leading=False).tick()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM published_reports") == 0


@pytest.mark.asyncio
async def test_the_api_lists_and_serves_published_reports(pool: asyncpg.Pool) -> None:
    clock = FrozenClock(NOW)
    await publisher(pool, clock).publish_closed()
    async with api_client(pool, CATALOG, clock) as client:
        listed = (await client.get("/api/v1/reports")).json()
        assert [(r["period"], r["label"]) for r in listed] == [
            ("daily", "2026-11-19"),
            ("weekly", "2026-W46"),
            ("monthly", "2026-10"),
        ]
        daily = listed[0]
        assert (daily["start"], daily["end"]) == ("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z")
        assert daily["webhook"] is None  # no webhook was configured
        weekly = (await client.get("/api/v1/reports", params={"period": "weekly"})).json()
        assert [r["label"] for r in weekly] == ["2026-W46"]

        document = (await client.get(daily["links"]["json"])).json()
        assert (document["schema"], document["period"]["label"]) == (
            "golive.report/v1",
            "2026-11-19",
        )
        # Thursday 19: deployment 1.3 and r1's 30 s without a ready instance.
        assert document["headline"][0]["value"] == 1
        assert document["rollouts"][0]["downtime_seconds"] == 30
        page = await client.get(daily["links"]["md"])
        assert page.headers["content-type"] == "text/markdown; charset=utf-8"
        assert page.text.startswith("# golive daily report: 2026-11-19\n")
        as_html = await client.get(
            "/api/v1/reports/daily/2026-11-19", headers={"Accept": "text/html,*/*;q=0.8"}
        )
        assert as_html.headers["content-type"] == "text/html; charset=utf-8"
        assert as_html.text.lstrip().lower().startswith("<!doctype html>")

        missing = await client.get("/api/v1/reports/daily/2026-11-20")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no daily report '2026-11-20' (UTC) was published"
        paris = await client.get(
            "/api/v1/reports/daily/2026-11-19", params={"timezone": "Europe/Paris"}
        )
        assert paris.status_code == 404  # published in UTC only


@pytest.mark.asyncio
async def test_the_webhook_gets_each_report_once_after_retries(pool: asyncpg.Pool) -> None:
    clock = FrozenClock(NOW)
    with webhook_receiver() as receiver:
        receiver.failures = [503, 503, 503]  # the receiver is down for the first attempts
        async with httpx.AsyncClient() as client:
            leader = publisher(pool, clock, client, receiver)
            await leader.tick()
            # The three reports were tried once each (oldest period first) and failed.
            assert [r.status for r in receiver.requests] == [503, 503, 503]
            assert [r.body["period"]["label"] for r in receiver.requests] == [
                "2026-10",
                "2026-W46",
                "2026-11-19",
            ]
            await leader.tick()  # too early: the retry is 30 s away
            assert len(receiver.requests) == 3

            clock.advance(retry_delay(1).total_seconds())
            await leader.tick()
            assert len(receiver.accepted()) == 3

            # A restarted (or another) instance owes nothing: delivery state is in Postgres.
            clock.advance(3600)
            await publisher(pool, clock, client, receiver).tick()
            assert len(receiver.requests) == 6

        keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
        assert keys[:3] == keys[3:]  # the same key on every attempt
        assert keys[0] == "golive-report:monthly:2026-10:UTC"
        sent = receiver.requests[-1]
        assert sent.path == "/hooks/golive"
        assert sent.headers["Authorization"] == "Bearer s3cret"
        assert sent.headers["Content-Type"] == "application/json"
        assert sent.body["schema"] == "golive.report/v1"

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT label, attempts, delivered_at, last_error FROM published_reports ORDER BY label"
        )
    assert [(r["attempts"], r["last_error"]) for r in rows] == [(2, None)] * 3
    assert all(r["delivered_at"] == NOW + retry_delay(1) for r in rows)


def test_retries_back_off_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 50)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]


@pytest.mark.asyncio
async def test_two_leaders_at_once_post_each_report_once(pool: asyncpg.Pool) -> None:
    """A failover can leave two instances that both think they lead for an interval: the
    delivery lease keeps them from POSTing the same report."""
    clock = FrozenClock(NOW)
    with webhook_receiver() as receiver:
        receiver.delay = 0.3  # a slow receiver: both instances are mid-delivery together
        async with httpx.AsyncClient() as client:
            await publisher(pool, clock).publish_closed()
            async with pool.acquire() as conn:
                await conn.execute(
                    "UPDATE published_reports SET (delivery_due, next_attempt_at) = (true, $1)", NOW
                )
            a, b = (
                publisher(pool, clock, client, receiver),
                publisher(pool, clock, client, receiver),
            )
            await asyncio.gather(a.deliver(a.webhook), b.deliver(b.webhook))  # type: ignore[arg-type]
        labels = sorted(r.body["period"]["label"] for r in receiver.requests)
    assert labels == ["2026-10", "2026-11-19", "2026-W46"]


@pytest.mark.asyncio
async def test_reports_published_before_a_webhook_existed_are_not_sent(
    pool: asyncpg.Pool,
) -> None:
    clock = FrozenClock(NOW)
    await publisher(pool, clock).publish_closed()
    with webhook_receiver() as receiver:
        async with httpx.AsyncClient() as client:
            await publisher(pool, clock, client, receiver).tick()
    assert receiver.requests == []


@pytest.mark.asyncio
async def test_golive_run_publishes_and_posts_once_across_a_restart(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    """The real service: the leader publishes the last complete periods at start and the
    webhook gets them; a restarted golive sends nothing again."""
    with webhook_receiver() as receiver:
        env = service_env(
            kafka_bootstrap,
            topic,
            database_url,
            GOLIVE_EVALUATION_INTERVAL="1s",
            GOLIVE_REPORT_WEBHOOK_URL=receiver.url,
            GOLIVE_REPORT_PERIODS="daily,monthly",
        )
        async with running(env) as service:
            await wait_for(
                lambda: _count(receiver, 2), timeout=60, what="two reports at the webhook"
            )
            listed = (await service.get("/api/v1/reports")).json()
            assert {r["period"] for r in listed} == {"daily", "monthly"}
            assert all(r["webhook"]["deliveredAt"] for r in listed)
            metrics = (await service.get("/metrics")).text
            assert 'golive_reports_published_total{period="daily"} 1.0' in metrics
        async with running(env):
            await asyncio.sleep(3)  # several evaluation intervals as the leader
        assert len(receiver.requests) == 2


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


@pytest.mark.asyncio
async def test_values_postgres_cannot_hold_are_a_422_not_a_server_error(
    pool: asyncpg.Pool,
) -> None:
    # Found by schemathesis: a NUL character reached Postgres as text and gave a 500.
    async with api_client(pool, CATALOG, FrozenClock(NOW)) as client:
        zone = await client.get("/api/v1/reports/monthly/2026-11", params={"timezone": "-\x00"})
        label = await client.get("/api/v1/reports/monthly/2026-11%00")
        release = await client.get("/api/v1/reports/weekly", params={"release": "R\x00"})
    assert zone.status_code == 422
    assert "unknown time zone" in zone.json()["detail"]
    assert label.status_code == 422
    assert release.status_code == 422
    assert "a value of the request was refused" in release.json()["detail"]
