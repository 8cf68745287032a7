"""The leader process: a child of `golive run` that does the leader's heavy work, one
request at a time over its stdin and stdout (`golive.leader.worker` is its side):
- derive: the deployments and recoveries of the pairs batches queued
  (`store.derived.derive_pending`), every GOLIVE_DERIVE_INTERVAL;
- evaluate: derive, then take the KPI snapshot, judge golive's alerts, render the state
  metrics;
- publish: derive, then compute, render and store a closed period's report.

Why a process: at 200,000 stored events an evaluation is about half a second of Python
and a month's report about three quarters of one. On the event loop that ingest shares,
each held every batch behind it (the latency benchmark's p99); on a thread the GIL did
the same (docs/performance.md). A child has an interpreter of its own, so the two share
only the cores.

Frames are a 4-byte big-endian length and a pickle: both ends are this code, at the same
version, over pipes no one else holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from golive.domain.alerts import Alert
from golive.domain.catalog import Catalog
from golive.domain.periods import Period
from golive.store.errors import StoreRejectedError, StoreUnavailableError

log = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
# The child closes its connections and exits at the end of its input; past this, a kill.
EXIT_GRACE = 5.0
# The directory golive is imported from, so that the child imports the same code however
# the parent found it (an installed package, PYTHONPATH, pytest's `pythonpath`).
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Config:
    """What the child needs, sent as its first frame (secrets never go on argv)."""

    dsn: str
    catalog: Catalog
    log_level: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Derive:
    budget: float  # seconds: no new round of queued pairs is started after this


@dataclass(frozen=True)
class Evaluate:
    now: datetime


@dataclass(frozen=True)
class Publish:
    period: Period
    now: datetime
    delivery_due: bool


@dataclass(frozen=True)
class Evaluated:
    state: bytes  # the snapshot's families as text exposition, the alert counts aside
    alerts: list[Alert]  # firing as of the snapshot, for the leader's notifier


@dataclass(frozen=True)
class Derived:
    rows: int  # queued rows derived
    pending: int  # queued rows left


@dataclass(frozen=True)
class Published:
    stored: bool  # False: the report was already stored (by another leader, say)


@dataclass(frozen=True)
class Failed:
    unavailable: bool  # True: Postgres could not be reached; False: it refused the data
    reason: str


Request = Derive | Evaluate | Publish
Reply = Derived | Evaluated | Published | Failed


class LeaderProcessLost(Exception):
    """The child exited or its pipes broke: a new one starts at the next request."""


def frame(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def read_frame(stream: BinaryIO) -> object | None:
    """The next message, or None at the end of the input (blocking: the child's side)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    return pickle.loads(body) if len(body) == size else None


class LeaderProcess:
    """The parent's handle: starts the child on first use, and again after it is lost.
    The evaluator and the publisher share it; their requests take turns."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._child: asyncio.subprocess.Process | None = None
        self._in_step = False  # False after a request cut short: its answer is pending
        self._turn = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    async def derive(self, budget: float) -> Derived:
        """Derive the queued pairs for up to about `budget` seconds; raises as `evaluate`."""
        reply = await self._ask(Derive(budget))
        assert isinstance(reply, Derived)
        return reply

    async def evaluate(self, now: datetime) -> Evaluated:
        """The snapshot as of `now`, judged and rendered.

        Raises `StoreUnavailableError` / `StoreRejectedError` as the reads in this
        process would, and `LeaderProcessLost` when the child is gone.
        """
        reply = await self._ask(Evaluate(now))
        assert isinstance(reply, Evaluated)
        return reply

    async def publish(self, period: Period, now: datetime, delivery_due: bool) -> bool:
        """`publishing.stored.store_report`, in the child: whether this call stored the report."""
        reply = await self._ask(Publish(period, now, delivery_due))
        assert isinstance(reply, Published)
        return reply.stored

    async def close(self) -> None:
        """End the child: end of input, then a kill if it has not exited in time."""
        async with self._turn:
            await self._close()

    async def _ask(self, request: Request) -> Reply:
        async with self._turn:
            if self._child is None or self._child.returncode is not None or not self._in_step:
                await self._close()
                self._child = await self._start()
            child = self._child
            assert child.stdin is not None
            assert child.stdout is not None
            self._in_step = False
            try:
                child.stdin.write(frame(request))
                await child.stdin.drain()
                (size,) = HEADER.unpack(await child.stdout.readexactly(HEADER.size))
                reply = pickle.loads(await child.stdout.readexactly(size))
            except (asyncio.IncompleteReadError, ConnectionError) as err:
                code = await self._reap()
                raise LeaderProcessLost(f"the leader process exited (code {code})") from err
            self._in_step = True
        if isinstance(reply, Failed):
            error = StoreUnavailableError if reply.unavailable else StoreRejectedError
            raise error(reply.reason)
        return reply  # type: ignore[no-any-return]

    async def _close(self) -> None:
        if self._child is None:
            return
        if not self._in_step:  # it may be blocked writing an answer no one will read
            await self._reap()
            return
        child, self._child = self._child, None
        if child.returncode is None:
            assert child.stdin is not None
            child.stdin.close()
            try:
                await asyncio.wait_for(child.wait(), EXIT_GRACE)
            except TimeoutError:
                log.warning("the leader process did not exit in %.0f s: killed", EXIT_GRACE)
                child.kill()
                await child.wait()

    async def _start(self) -> asyncio.subprocess.Process:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_IMPORT_ROOT, path]))}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "golive.leader.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert child.stdin is not None
        child.stdin.write(frame(self.config))
        self._in_step = True
        log.info("leader process started (pid %d)", child.pid)
        return child

    async def _reap(self) -> int | None:
        child, self._child = self._child, None
        if child is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        return await child.wait()
