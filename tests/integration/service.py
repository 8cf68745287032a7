"""Running golive against the test broker and database: in-process for most tests,
as a `golive run` subprocess where a test kills it. Plus waiting and state dumps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from golive import app
from golive.clock import Clock
from golive.config import Settings
from golive.domain.catalog import Catalog
from golive.store.db import _init
from golive.store.derived import derive_pending
from golive.store.projections import PROJECTIONS
from tests.conftest import golive_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(bootstrap: str, topic: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "GOLIVE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "GOLIVE_KAFKA_TOPICS": topic,
        "GOLIVE_KAFKA_GROUP_ID": f"group-{topic}",
        "GOLIVE_KAFKA_DLQ_TOPIC": f"{topic}.dlq",
        "GOLIVE_DATABASE_URL": database_url,
        "GOLIVE_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
        "GOLIVE_KAFKA_SESSION_TIMEOUT": "6s",
        **extra,
    }


def settings_for(env: Mapping[str, str]) -> Settings:
    return Settings(**{k.removeprefix("GOLIVE_").lower(): v for k, v in env.items()})


@dataclass
class InProcess:
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[int]

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_listen}"

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(self.url + path)


@contextlib.asynccontextmanager
async def running(env: Mapping[str, str], clock: Clock | None = None) -> AsyncIterator[InProcess]:
    """golive in this process; stopped (and its result checked) on exit."""
    settings = settings_for(env)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(settings, clock, stop=stop, handle_signals=False))
    service = InProcess(settings, stop, task)
    try:
        await wait_for(lambda: _serving(service), timeout=30, what="golive HTTP up")
        yield service
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


async def _serving(service: InProcess) -> bool:
    if service.task.done():
        service.task.result()
    return await answers_health(service.url, timeout=10)


async def answers_health(url: str, timeout: float = 5) -> bool:
    """Whether the golive at `url` serves: `/healthz` answers 200."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


def spawn(env: Mapping[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """`golive run` as a child process. Its log goes to a file (a pipe nobody reads
    would fill up and block it); the path is printed so a failed test shows it."""
    if log is None:
        log = Path(tempfile.mkstemp(prefix="golive-run-", suffix=".log")[1])
    print(f"golive run log: {log}")
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "golive", "run"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


async def wait_for(check: Any, *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `check()` (sync or async) until truthy; fail naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


async def stored_offsets(database_url: str) -> dict[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('consumer_offsets') IS NOT NULL"):
            return {}
        rows = await conn.fetch("SELECT partition, next_offset FROM consumer_offsets")
    finally:
        await conn.close()
    return {r["partition"]: r["next_offset"] for r in rows}


async def wait_consumed(
    database_url: str, landed: list[tuple[int, int]], timeout: float = 60
) -> None:
    """Wait until the stored offsets pass every produced record."""
    ends: dict[int, int] = {}
    for partition, offset in landed:
        ends[partition] = max(ends.get(partition, 0), offset + 1)

    async def done() -> bool:
        stored = await stored_offsets(database_url)
        return all(stored.get(p, 0) >= end for p, end in ends.items())

    await wait_for(done, timeout=timeout, what=f"offsets {ends} stored")


async def dump_state(database_url: str) -> dict[str, Any]:
    """Every projection and counter, for comparing two runs; the deliveries still queued
    are derived first, as the leader would a moment later."""
    conn = await asyncpg.connect(database_url)
    try:
        await _init(conn)
        while await derive_pending(conn):
            pass
        state: dict[str, Any] = {}
        for projection in PROJECTIONS:
            rows = await conn.fetch(
                f"SELECT key, doc::text AS doc FROM {projection.table} ORDER BY key"
            )
            state[projection.table] = [(r["key"], r["doc"]) for r in rows]
        for table in ("deployments", "recoveries", "artifact_changes", "team_activity"):
            rows = await conn.fetch(f"SELECT * FROM {table}")
            state[table] = sorted(tuple(str(v) for v in r.values()) for r in rows)
        rows = await conn.fetch("SELECT name, count FROM event_counts ORDER BY name")
        state["event_counts"] = [(r["name"], r["count"]) for r in rows]
        state["events"] = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    return state


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        base, _, label_text = metric.partition("{")
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if base == name and got == wanted:
            return float(value)
    return 0.0


@contextlib.asynccontextmanager
async def api_client(
    pool: asyncpg.Pool, catalog: Catalog, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """golive's HTTP application in this process (ASGI, no socket), reading `pool`."""
    application = golive_app(lambda: pool, catalog, clock)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://golive") as client:
        yield client
