"""A real Alertmanager for integration tests: receives alerts over its v2 API and answers
what it holds (active, silenced, inhibited), each wait bounded by a timeout.

Uses Debian's `prometheus-alertmanager` (upstream names the binary `alertmanager`);
`scripts/install-tools.sh` installs it.

What Alertmanager 0.25 shows, as observed through this harness:

- Alerts are identified by their label set (the `fingerprint`). POSTing the same labels
  again updates that one alert (`updatedAt`, `endsAt`, annotations): no duplicate.
- An alert whose `endsAt` has passed is resolved, and `GET /api/v2/alerts` never returns
  it again, whatever `active`, `silenced`, `inhibited` or `unprocessed` ask for (nor does
  `GET /api/v2/alerts/groups`): no query lists resolved alerts. Alertmanager keeps them
  internally, to notify the resolution, until its garbage collection
  (`--alerts.gc-interval`, 30 min). `received()` (the `alertmanager_alerts_received_total`
  counter) shows that a resolution arrived.
- An alert POSTed without `endsAt` stays active for `resolve_timeout` (5 min by default):
  a sender must repeat firing alerts and resolve them explicitly.
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

from tests.integration.prometheus import INSTALL_HINT

# Upstream's name first, then Debian's.
BINARY_NAMES = ("alertmanager", "prometheus-alertmanager")
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0
POLL_INTERVAL = 0.1
PORT_ATTEMPTS = 3
LOG_TAIL_LINES = 40

# One route to a receiver that notifies nobody; groups flush at once so that state shows
# without waiting. Alerts are still stored, grouped, inhibited and silenced as usual.
DEFAULT_CONFIG: dict[str, Any] = {
    "route": {
        "receiver": "null",
        "group_wait": "0s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    },
    "receivers": [{"name": "null"}],
}

Alert = dict[str, Any]


class AlertmanagerError(RuntimeError):
    """Alertmanager failed to start, or answered a request with an error."""


class _PortTaken(Exception):
    """Alertmanager could not bind the port it was given."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def alertmanager_binary() -> str:
    """Path of the Alertmanager server binary; fails the test when it is missing."""
    for name in BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for name in BINARY_NAMES:
        fallback = Path("/usr/bin") / name
        if _executable(fallback):
            return str(fallback)
    pytest.fail(f"{' or '.join(BINARY_NAMES)} not found on PATH or in /usr/bin: {INSTALL_HINT}")


def amtool_binary() -> str:
    """Path of `amtool`; fails the test when it is missing."""
    found = shutil.which("amtool")
    if found:
        return found
    fallback = Path("/usr/bin/amtool")
    if _executable(fallback):
        return str(fallback)
    pytest.fail(f"amtool not found on PATH or in /usr/bin: {INSTALL_HINT}")


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


def _flag(value: bool) -> str:
    return "true" if value else "false"


class AlertmanagerServer:
    """Alertmanager as a child process on a free 127.0.0.1 port, stopped on exit.

    Clustering is off (`--cluster.listen-address=`): no gossip port, ready at once. Its
    config (`alertmanager.yml`), storage (`data/`, silences and notification log) and log
    (`alertmanager.log`) live in `tmp_dir`, to read after a failed test.
    """

    def __init__(self, *, tmp_dir: Path, config: str | None = None) -> None:
        self.tmp_dir = tmp_dir
        self.config_text = config
        self.config_path = tmp_dir / "alertmanager.yml"
        self.log_path = tmp_dir / "alertmanager.log"
        self.data_path = tmp_dir / "data"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.AsyncClient | None = None
        self._log_start = 0

    def write_config(self) -> Path:
        """Write `alertmanager.yml` into `tmp_dir` and return its path."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if self.config_text is None:
            # JSON is valid YAML: no YAML library needed, and no quoting surprises.
            self.config_path.write_text(json.dumps(DEFAULT_CONFIG, indent=2) + "\n")
        else:
            self.config_path.write_text(self.config_text)
        return self.config_path

    async def __aenter__(self) -> AlertmanagerServer:
        self.write_config()
        self._client = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        try:
            for _ in range(PORT_ATTEMPTS):
                try:
                    await self._start(_free_port())
                except _PortTaken:
                    # Another process took the port between our probe and Alertmanager's bind.
                    continue
                return self
            raise AlertmanagerError(
                f"alertmanager found its port taken {PORT_ATTEMPTS} times; "
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
                    alertmanager_binary(),
                    f"--config.file={self.config_path}",
                    f"--storage.path={self.data_path}",
                    f"--web.listen-address={listen}",
                    # Empty: no cluster, so no gossip port to collide on and no peer wait.
                    "--cluster.listen-address=",
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
                raise AlertmanagerError(
                    f"alertmanager exited with code {code} during startup; "
                    f"log {self.log_path}:\n{tail}"
                )
            try:
                if (await client.get(f"{self.url}/-/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > deadline:
                raise AlertmanagerError(
                    f"alertmanager not ready after {STARTUP_TIMEOUT} s at {self.url}; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path, since=self._log_start)}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def outage(self) -> None:
        """Stop Alertmanager, keeping its port, config and storage for `recover`. The
        alerts it holds, in memory only, go with it, as in a real restart."""
        self._running()
        await self._terminate()

    async def recover(self) -> None:
        """Start Alertmanager again after `outage`, on the same port."""
        await self._start(int(self.url.rpartition(":")[2]))

    async def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not await _exited(process, STOP_TIMEOUT):
                process.kill()
                await _exited(process, STOP_TIMEOUT)

    async def _stop(self) -> None:
        await self._terminate()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _running(self) -> tuple[subprocess.Popen[bytes], httpx.AsyncClient]:
        if self._process is None or self._client is None:
            raise AlertmanagerError(
                "alertmanager is not running: use `async with AlertmanagerServer(...)`"
            )
        return self._process, self._client

    async def post_alerts(self, alerts: Sequence[Alert]) -> None:
        """POST /api/v2/alerts: `{"labels", "annotations", "startsAt", "endsAt",
        "generatorURL"}` each, times in RFC 3339."""
        _, client = self._running()
        response = await client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        if response.status_code != 200:
            raise AlertmanagerError(
                f"POST /api/v2/alerts: HTTP {response.status_code}: {response.text[:500]}"
            )

    async def alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = False,
        inhibited: bool = False,
        filter: Sequence[str] = (),
    ) -> list[Alert]:
        """GET /api/v2/alerts: the alerts Alertmanager holds that are not resolved.

        `filter` takes matchers such as `alertname="GoliveReleaseLate"`. Each alert has
        `labels`, `annotations`, `fingerprint`, `startsAt`, `endsAt`, `updatedAt` and
        `status` (`state` active / suppressed, `inhibitedBy`, `silencedBy`). Resolved
        alerts never appear (module docstring); `inhibited=True` adds the inhibited ones.
        """
        _, client = self._running()
        params = httpx.QueryParams(
            {
                "active": _flag(active),
                "silenced": _flag(silenced),
                "inhibited": _flag(inhibited),
                "filter": list(filter),
            }
        )
        response = await client.get(f"{self.url}/api/v2/alerts", params=params)
        if response.status_code != 200:
            raise AlertmanagerError(
                f"GET {response.url}: HTTP {response.status_code}: {response.text[:500]}"
            )
        result: list[Alert] = response.json()
        return result

    async def wait_for_alerts(
        self,
        predicate: Callable[[list[Alert]], bool],
        timeout: float = 30,
        *,
        active: bool = True,
        silenced: bool = False,
        inhibited: bool = False,
        filter: Sequence[str] = (),
    ) -> list[Alert]:
        """Poll `alerts(...)` until `predicate` holds for the list; return that list."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            last = await self.alerts(
                active=active, silenced=silenced, inhibited=inhibited, filter=filter
            )
            if predicate(last):
                return last
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for alerts matching the predicate; "
                    f"last alerts: {last}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def received(self) -> dict[str, float]:
        """Alerts received so far by status, `{"firing": n, "resolved": n}`, from
        Alertmanager's own `alertmanager_alerts_received_total` (all API versions)."""
        _, client = self._running()
        response = await client.get(f"{self.url}/metrics")
        if response.status_code != 200:
            raise AlertmanagerError(f"GET /metrics: HTTP {response.status_code}")
        counts = {"firing": 0.0, "resolved": 0.0}
        for line in response.text.splitlines():
            if not line.startswith("alertmanager_alerts_received_total{"):
                continue
            labels, _, value = line.rpartition(" ")
            for status in counts:
                if f'status="{status}"' in labels:
                    counts[status] += float(value)
        return counts


async def _exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.poll() is None:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def active_names(alerts: list[dict[str, Any]]) -> set[str]:
    return {a["labels"]["alertname"] for a in alerts if a["status"]["state"] == "active"}
