"""The Prometheus test harness against a real `prometheus`, without golive: a tiny
exposition server stands in for golive's /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.prometheus import (
    PrometheusError,
    PrometheusServer,
    promtool_binary,
)

EXPOSITION = b'# TYPE demo_value gauge\ndemo_value{a="x"} 42\n'
RECORDING_RULES = """\
groups:
  - name: demo
    rules:
      - record: demo:doubled
        expr: demo_value * 2
"""
BROKEN_RULES = """\
groups:
  - name: broken
    rules:
      - record: broken
        expr: sum(
"""


async def _serve_exposition(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        # One request per connection: read the head, ignore it, answer, close.
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\n"
            b"Content-Type: text/plain; version=0.0.4\r\n"
            b"Content-Length: " + str(len(EXPOSITION)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + EXPOSITION
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # Prometheus hung up mid-request (it is being stopped): nothing to answer.
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def exposition_server() -> AsyncIterator[str]:
    """A /metrics stand-in on a free 127.0.0.1 port; yields its "host:port"."""
    server = await asyncio.start_server(_serve_exposition, host="127.0.0.1", port=0)
    try:
        host, port = server.sockets[0].getsockname()[:2]
        yield f"{host}:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_harness_scrapes_a_target_and_answers_queries(tmp_path: Path) -> None:
    async with (
        exposition_server() as target,
        PrometheusServer([target], tmp_dir=tmp_path) as prom,
    ):
        await prom.wait_for_target_up(timeout=30)

        result = await prom.query('demo_value{a="x"}')

        assert len(result) == 1
        assert result[0]["metric"] == {
            "__name__": "demo_value",
            "a": "x",
            "instance": target,
            "job": "golive",
        }
        assert float(result[0]["value"][1]) == 42
        assert await prom.wait_for_value("sum(demo_value)", lambda v: v == 42, timeout=10) == 42


@pytest.mark.asyncio
async def test_harness_evaluates_rule_files(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RECORDING_RULES)
    async with (
        exposition_server() as target,
        PrometheusServer([target], rule_files=[rules], tmp_dir=tmp_path / "prom") as prom,
    ):
        doubled = await prom.wait_for_value("sum(demo:doubled)", lambda v: v == 84, timeout=30)

    assert doubled == 84


@pytest.mark.asyncio
async def test_invalid_promql_raises_with_the_prometheus_error_text(tmp_path: Path) -> None:
    async with PrometheusServer([], tmp_dir=tmp_path) as prom:
        with pytest.raises(PrometheusError, match=r"bad_data.*parse error"):
            await prom.query("sum(demo_value")


@pytest.mark.asyncio
async def test_wait_for_value_times_out_showing_the_last_result(tmp_path: Path) -> None:
    async with PrometheusServer([], tmp_dir=tmp_path) as prom:
        with pytest.raises(AssertionError, match=r"vector\(1\).*last result: \[\{"):
            await prom.wait_for_value("vector(1)", lambda v: v == 2, timeout=0.5)


@pytest.mark.asyncio
async def test_startup_failure_raises_with_the_prometheus_log(tmp_path: Path) -> None:
    rules = tmp_path / "broken.yml"
    rules.write_text(BROKEN_RULES)
    with pytest.raises(PrometheusError, match=r"(?s)exited with code [1-9].*broken\.yml"):
        async with PrometheusServer([], rule_files=[rules], tmp_dir=tmp_path / "prom"):
            pass


def test_promtool_accepts_the_generated_config(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RECORDING_RULES)
    server = PrometheusServer(
        ["127.0.0.1:8080", "127.0.0.1:8081"],
        scrape_interval="5s",
        rule_files=[rules],
        tmp_dir=tmp_path / "prom",
    )
    config = server.write_config()

    checked = subprocess.run(
        [promtool_binary(), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr
