"""A real Prometheus server for integration tests: scrapes given targets as job "golive",
evaluates given rule files, and answers PromQL queries, each wait bounded by a timeout.

Uses Debian's `prometheus` package binaries; `scripts/install-tools.sh` installs them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

INSTALL_HINT = (
    "run scripts/install-tools.sh (installs Debian's prometheus and prometheus-alertmanager)"
)
JOB = "golive"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0
POLL_INTERVAL = 0.1
PORT_ATTEMPTS = 3
LOG_TAIL_LINES = 40

Sample = dict[str, Any]


class PrometheusError(RuntimeError):
    """Prometheus failed to start, or answered a request with an error."""


class _PortTaken(Exception):
    """Prometheus could not bind the port it was given."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    fallback = Path("/usr/bin") / name
    if fallback.is_file() and os.access(fallback, os.X_OK):
        return str(fallback)
    pytest.fail(f"{name} not found on PATH or in /usr/bin: {INSTALL_HINT}")


def prometheus_binary() -> str:
    """Path of the `prometheus` server binary; fails the test when it is missing."""
    return _binary("prometheus")


def promtool_binary() -> str:
    """Path of `promtool`; fails the test when it is missing."""
    return _binary("promtool")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, since: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of the log written after byte offset `since`."""
    try:
        with path.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


def _float_value(sample: Sample) -> float:
    # Prometheus sends sample values as strings: "42", "NaN", "+Inf".
    return float(sample["value"][1])


class PrometheusServer:
    """`prometheus` as a child process on a free 127.0.0.1 port, stopped on exit.

    Its config, TSDB (`data/`) and log (`prometheus.log`) live in `tmp_dir`, to read after
    a failed test.
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        scrape_interval: str = "1s",
        rule_files: Sequence[Path] = (),
        tmp_dir: Path,
    ) -> None:
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.tmp_dir = tmp_dir
        self.config_path = tmp_dir / "prometheus.yml"
        self.log_path = tmp_dir / "prometheus.log"
        self.data_path = tmp_dir / "data"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.AsyncClient | None = None
        self._log_start = 0

    def config(self) -> dict[str, Any]:
        """The Prometheus configuration this server runs with."""
        return {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": self.targets}],
                }
            ],
        }

    def write_config(self) -> Path:
        """Write `prometheus.yml` into `tmp_dir` and return its path."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML: no YAML library needed, and no quoting surprises.
        self.config_path.write_text(json.dumps(self.config(), indent=2) + "\n")
        return self.config_path

    async def __aenter__(self) -> PrometheusServer:
        self.write_config()
        self._client = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        try:
            for _ in range(PORT_ATTEMPTS):
                try:
                    await self._start(_free_port())
                except _PortTaken:
                    # Another process took the port between our probe and Prometheus' bind.
                    continue
                return self
            raise PrometheusError(
                f"prometheus found its port taken {PORT_ATTEMPTS} times; "
                f"log {self.log_path}:\n{_log_tail(self.log_path)}"
            )
        except BaseException:
            await self._stop()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _start(self, port: int) -> None:
        listen = f"127.0.0.1:{port}"
        self.url = f"http://{listen}"
        with self.log_path.open("ab") as log:
            log.write(f"--- golive test harness: starting on {listen}\n".encode())
            log.flush()
            self._log_start = log.tell()
            self._process = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.data_path}",
                    f"--web.listen-address={listen}",
                    "--web.enable-lifecycle",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp_dir,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        process, client = self._running()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while True:
            code = process.poll()
            if code is not None:
                self._process = None
                tail = _log_tail(self.log_path, since=self._log_start)
                if "address already in use" in tail:
                    raise _PortTaken
                raise PrometheusError(
                    f"prometheus exited with code {code} during startup; "
                    f"log {self.log_path}:\n{tail}"
                )
            try:
                if (await client.get(f"{self.url}/-/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > deadline:
                raise PrometheusError(
                    f"prometheus not ready after {STARTUP_TIMEOUT} s at {self.url}; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path, since=self._log_start)}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not await _exited(process, STOP_TIMEOUT):
                process.kill()
                await _exited(process, STOP_TIMEOUT)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _running(self) -> tuple[subprocess.Popen[bytes], httpx.AsyncClient]:
        if self._process is None or self._client is None:
            raise PrometheusError(
                "prometheus is not running: use `async with PrometheusServer(...)`"
            )
        return self._process, self._client

    async def query(self, promql: str) -> list[Sample]:
        """Instant query; the result samples, `{"metric": {...}, "value": [ts, "v"]}` each.

        A scalar or string result comes back as one sample with empty labels, so every
        result reads the same way.
        """
        _, client = self._running()
        response = await client.get(f"{self.url}/api/v1/query", params={"query": promql})
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"query {promql!r}: HTTP {response.status_code}, not JSON: {response.text[:500]}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(
                f"query {promql!r} failed (HTTP {response.status_code}, "
                f"{body.get('errorType')}): {body.get('error')}"
            )
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[Sample] = data["result"]
        return result

    async def query_range(self, promql: str, *, seconds: float, step: float = 5) -> list[Sample]:
        """Range query over the last `seconds`, as a Grafana time series panel runs it; the
        result series, `{"metric": {...}, "values": [[ts, "v"], ...]}` each."""
        _, client = self._running()
        end = await self._now()
        data = await self._api(
            client,
            "query_range",
            {"query": promql, "start": end - seconds, "end": end, "step": step},
        )
        result: list[Sample] = data["result"]
        return result

    async def label_values(self, label: str, match: str) -> list[str]:
        """The values of `label` on the series `match` selects: Grafana's `label_values()`."""
        _, client = self._running()
        values: list[str] = await self._api(client, f"label/{label}/values", {"match[]": match})
        return values

    async def _now(self) -> float:
        return float((await self.query("time()"))[0]["value"][1])

    async def _api(self, client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> Any:
        response = await client.get(f"{self.url}/api/v1/{path}", params=params)
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"{path} {params}: HTTP {response.status_code}, not JSON: {response.text[:500]}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(
                f"{path} {params} failed (HTTP {response.status_code}, "
                f"{body.get('errorType')}): {body.get('error')}"
            )
        return body["data"]

    async def wait_for_value(
        self,
        promql: str,
        predicate: Callable[[float], bool] = lambda v: True,
        timeout: float = 30,
    ) -> float:
        """Poll `promql` until it gives exactly one sample whose value satisfies `predicate`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: list[Sample] = []
        while True:
            last = await self.query(promql)
            if len(last) == 1:
                value = _float_value(last[0])
                if predicate(value):
                    return value
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {promql!r} to give one sample "
                    f"matching the predicate; last result: {last}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def wait_for_target_up(self, timeout: float = 30) -> None:
        """Wait until every target has been scraped successfully (`up{job="golive"} == 1`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted = set(self.targets)
        while True:
            last = await self.query(f'up{{job="{JOB}"}}')
            up = {s["metric"].get("instance") for s in last if _float_value(s) == 1}
            if wanted <= up:
                return
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for targets {sorted(wanted)} to be up; "
                    f"last up result: {last}; scrape errors: {await self._scrape_errors()}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def _scrape_errors(self) -> dict[str, str]:
        """Each target's last scrape error, as Prometheus reports it."""
        _, client = self._running()
        try:
            body = (await client.get(f"{self.url}/api/v1/targets")).json()
            return {
                t["scrapeUrl"]: t.get("lastError", "")
                for t in body["data"]["activeTargets"]
                if t.get("lastError")
            }
        except (httpx.HTTPError, ValueError, KeyError) as e:
            return {"(targets API)": repr(e)}


async def _exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.poll() is None:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
