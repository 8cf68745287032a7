"""One leader serves the state metrics; when it dies another takes over (issue 4)."""

from __future__ import annotations

import signal

import asyncpg
import httpx
import pytest

from bench.throughput import child_pids, stat_fields
from tests.integration.kafka import produce
from tests.integration.service import service_env, spawn, wait_consumed, wait_for
from tests.integration.streams import synthetic_stream


async def scrape(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return None


def running(pid: int) -> bool:
    """Whether `pid` exists and has not exited (a zombie awaits only its reaping)."""
    try:
        state = stat_fields(pid)[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def is_leader(text: str | None) -> bool:
    return text is not None and "\ngolive_leader 1.0" in text


@pytest.mark.asyncio
async def test_leader_failover_hands_the_state_metrics_to_the_other_instance(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    base = service_env(kafka_bootstrap, topic, database_url, GOLIVE_EVALUATION_INTERVAL="1s")
    envs = [
        base,
        {
            **base,
            "GOLIVE_HTTP_LISTEN": service_env(kafka_bootstrap, topic, database_url)[
                "GOLIVE_HTTP_LISTEN"
            ],
        },
    ]
    urls = [f"http://{env['GOLIVE_HTTP_LISTEN']}" for env in envs]
    processes = [spawn(env) for env in envs]
    try:
        landed = await produce(kafka_bootstrap, topic, synthetic_stream(300))
        await wait_consumed(database_url, landed, timeout=90)

        async def one_leader_serving() -> bool:
            texts = [await scrape(u) for u in urls]
            leaders = [t for t in texts if is_leader(t)]
            return len(leaders) == 1 and "golive_dora_deployment_frequency_per_day{" in (
                leaders[0] or ""
            )

        await wait_for(
            one_leader_serving, timeout=30, what="exactly one leader serving the state metrics"
        )
        texts = [await scrape(u) for u in urls]
        leader = next(i for i, t in enumerate(texts) if is_leader(t))
        standby = 1 - leader
        assert "golive_dora_deployment_frequency_per_day{" in (texts[leader] or "")
        assert "golive_dora_deployment_frequency_per_day{" not in (texts[standby] or "")

        # Its leader process (the snapshot, the reports) is its one child.
        (leader_process,) = child_pids(processes[leader].pid)
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(10)
        # Killed without a chance to stop it, the parent leaves its child at the end of
        # its input: it exits rather than outlive the service.
        await wait_for(
            lambda: not running(leader_process), timeout=10, what="the orphaned leader process"
        )

        async def took_over() -> bool:
            text = await scrape(urls[standby])
            return is_leader(text) and "golive_dora_deployment_frequency_per_day{" in (text or "")

        # The standby retries the lock every interval (1 s); the bound only keeps a
        # broken failover from hanging the suite.
        await wait_for(
            took_over, timeout=15, what="the standby to lead and serve the state metrics"
        )
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.mark.asyncio
async def test_the_leader_derives_deliveries_between_evaluations(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    # One evaluation at the start, none after: what is derived later is the derive loop's.
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_EVALUATION_INTERVAL="1h",
        GOLIVE_DERIVE_INTERVAL="1s",
    )
    url = f"http://{env['GOLIVE_HTTP_LISTEN']}"
    process = spawn(env)
    try:
        await wait_for(lambda: _leads(url), timeout=60, what="the instance leads")
        landed = await produce(kafka_bootstrap, topic, synthetic_stream(300))
        await wait_consumed(database_url, landed, timeout=90)

        async def derived() -> bool:
            conn = await asyncpg.connect(database_url)
            try:
                pending = await conn.fetchval("SELECT count(*) FROM deliveries_pending")
                deployed = await conn.fetchval("SELECT count(*) FROM deployments")
            finally:
                await conn.close()
            return pending == 0 and deployed > 0

        await wait_for(derived, timeout=30, what="the queued deliveries derived")
        text = await scrape(url)
        assert text is not None
        assert "\ngolive_deliveries_pending 0.0" in text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


async def _leads(url: str) -> bool:
    return is_leader(await scrape(url))
