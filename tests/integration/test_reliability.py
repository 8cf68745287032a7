"""Crashes, cut connections, scale-out and shutdown: the final state never changes (issue 3)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys

import asyncpg
import pytest

from golive.config import load_catalog
from golive.store.replay import replay
from tests.integration.databases import fresh_database
from tests.integration.kafka import produce
from tests.integration.service import (
    dump_state,
    running,
    service_env,
    spawn,
    stored_offsets,
    wait_consumed,
    wait_for,
)
from tests.integration.streams import synthetic_stream

STREAM = synthetic_stream(3000, seed=11)


async def reference_state(kafka_bootstrap: str, topic: str, postgres_dsn: str) -> dict[str, object]:
    """The state of one uninterrupted run over the whole topic, in a database of its own."""
    async with fresh_database(postgres_dsn) as dsn:
        env = service_env(kafka_bootstrap, topic, dsn, GOLIVE_KAFKA_GROUP_ID=f"reference-{topic}")
        async with running(env):
            await wait_consumed(dsn, LANDED[topic], timeout=120)
        return await dump_state(dsn)


LANDED: dict[str, list[tuple[int, int]]] = {}


async def produce_stream(
    kafka_bootstrap: str, topic: str, chunks: int = 6, pause: float = 0.3
) -> None:
    """Produce STREAM in chunks so that consumers are mid-stream when faults strike."""
    landed: list[tuple[int, int]] = []
    size = len(STREAM) // chunks
    for i in range(chunks):
        landed += await produce(
            kafka_bootstrap, topic, STREAM[i * size : (i + 1) * size if i < chunks - 1 else None]
        )
        await asyncio.sleep(pause)
    LANDED[topic] = landed


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.mark.asyncio
async def test_kill_9_at_random_points_gives_the_state_of_an_uninterrupted_run(
    kafka_bootstrap: str, topic: str, database_url: str, postgres_dsn: str
) -> None:
    env = service_env(kafka_bootstrap, topic, database_url)
    rng = random.Random(3)
    # Production lasts longer than three restarts (a rejoin after a crash waits out the
    # session timeout), so that every kill strikes mid-stream.
    producing = asyncio.create_task(produce_stream(kafka_bootstrap, topic, chunks=60, pause=1.0))
    kills = 0
    process = spawn(env)
    try:
        for _ in range(3):
            # Kill once the service has stored some progress, at a random moment.
            before = sum((await stored_offsets(database_url)).values())
            await wait_for(
                lambda b=before: _progressed(database_url, b),
                timeout=90,
                what="progress before a kill",
            )
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            assert not producing.done(), "the stream ended before the kill: slow the producer"
            kills += 1
            process = spawn(env)
        await producing
        await wait_consumed(database_url, LANDED[topic], timeout=180)
        assert stop_process(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    assert kills == 3
    crashed = await dump_state(database_url)
    assert crashed == await reference_state(kafka_bootstrap, topic, postgres_dsn)


async def _progressed(database_url: str, before: int) -> bool:
    return sum((await stored_offsets(database_url)).values()) > before


@pytest.mark.asyncio
async def test_postgres_connections_terminated_mid_stream_lose_nothing(
    kafka_bootstrap: str, topic: str, database_url: str, postgres_dsn: str
) -> None:
    env = service_env(kafka_bootstrap, topic, database_url)
    database = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgres_dsn)
    terminated = 0
    try:
        async with running(env):
            producing = asyncio.create_task(
                produce_stream(kafka_bootstrap, topic, chunks=10, pause=0.3)
            )
            while not producing.done():
                terminated += await admin.fetchval(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
                    database,
                )
                await asyncio.sleep(0.2)
            await producing
            await wait_consumed(database_url, LANDED[topic], timeout=180)
    finally:
        await admin.close()
    assert terminated > 0
    assert await dump_state(database_url) == await reference_state(
        kafka_bootstrap, topic, postgres_dsn
    )


@pytest.mark.asyncio
async def test_three_instances_in_one_group_give_the_state_of_one(
    kafka_bootstrap: str, topic: str, database_url: str, postgres_dsn: str
) -> None:
    base = service_env(kafka_bootstrap, topic, database_url)
    processes = [
        spawn(
            {**base, **service_env(kafka_bootstrap, topic, database_url)}
            | {"GOLIVE_KAFKA_GROUP_ID": base["GOLIVE_KAFKA_GROUP_ID"]}
        )
        for _ in range(3)
    ]
    try:
        await produce_stream(kafka_bootstrap, topic)
        await wait_consumed(database_url, LANDED[topic], timeout=180)
        codes = [stop_process(p) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
            p.wait(10)
    assert codes == [0, 0, 0]
    assert await dump_state(database_url) == await reference_state(
        kafka_bootstrap, topic, postgres_dsn
    )


@pytest.mark.asyncio
async def test_sigterm_finishes_the_batch_and_exits_0_within_seconds(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = service_env(kafka_bootstrap, topic, database_url)
    process = spawn(env)
    try:
        landed = await produce(kafka_bootstrap, topic, STREAM[:500])
        await wait_consumed(database_url, landed, timeout=90)
        process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await loop.run_in_executor(None, process.wait, 15)
        elapsed = loop.time() - started
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    assert code == 0
    assert elapsed < 15


def test_missing_bootstrap_servers_fails_fast_naming_the_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    result = subprocess.run(
        [sys.executable, "-m", "golive", "run"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "GOLIVE_KAFKA_BOOTSTRAP_SERVERS is not set" in result.stderr


def test_invalid_setting_fails_fast_naming_it() -> None:
    env = {
        **os.environ,
        "GOLIVE_KAFKA_BOOTSTRAP_SERVERS": "x:1",
        "GOLIVE_DATABASE_URL": "postgresql://x",
        "GOLIVE_EVALUATION_INTERVAL": "often",
    }
    result = subprocess.run(
        [sys.executable, "-m", "golive", "run"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "GOLIVE_EVALUATION_INTERVAL" in result.stderr


@pytest.mark.asyncio
async def test_replay_rebuilds_the_same_state_as_live_ingest(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env):
        landed = await produce(kafka_bootstrap, topic, STREAM[:1500])
        await wait_consumed(database_url, landed, timeout=120)
    live = await dump_state(database_url)
    assert live["team_activity"], "the stream should give teams some activity"
    conn = await asyncpg.connect(database_url)
    try:
        from golive.store.db import _init

        await _init(conn)
        result = await replay(conn, load_catalog(_settings(env)), max_bytes=1 << 20)
    finally:
        await conn.close()
    assert result.events == live["events"]
    assert await dump_state(database_url) == live


def _settings(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from tests.integration.service import settings_for

    return settings_for(env)


@pytest.mark.asyncio
async def test_not_ready_while_postgres_is_unreachable(kafka_bootstrap: str, topic: str) -> None:
    from tests.integration.service import free_port

    env = service_env(
        kafka_bootstrap, topic, f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    )
    async with running(env) as service:
        await wait_for(
            lambda: _not_ready_because(service, "database"),
            timeout=20,
            what="/readyz naming the database",
        )
        assert (await service.get("/healthz")).status_code == 200


async def _not_ready_because(service: object, component: str) -> bool:
    response = await service.get("/readyz")  # type: ignore[attr-defined]
    return bool(response.status_code == 503 and component in response.json()["problems"])


@pytest.mark.asyncio
async def test_broker_down_at_start_then_up_loses_nothing(database_url: str) -> None:
    from golive.embedded.broker import EmbeddedBroker
    from golive.ingest.producer import ensure_topics
    from tests.integration.service import free_port, settings_for

    port = free_port()
    env = service_env(f"127.0.0.1:{port}", "golive.events", database_url)
    broker = EmbeddedBroker(port=port)
    try:
        async with running(env) as service:
            await wait_for(
                lambda: _not_ready_because(service, "broker"),
                timeout=30,
                what="/readyz naming the broker",
            )
            broker.start()
            await ensure_topics(settings_for(env), ["golive.events"])
            landed = await produce(broker.bootstrap_servers, "golive.events", STREAM[:300])
            await wait_consumed(database_url, landed, timeout=120)
            await wait_for(lambda: _ready(service), timeout=30, what="/readyz 200")
    finally:
        broker.stop()
    assert (await dump_state(database_url))["events"] == 300


async def _ready(service: object) -> bool:
    return bool((await service.get("/readyz")).status_code == 200)  # type: ignore[attr-defined]
