"""The leader process's side (`python -m golive.leader.worker`, started by
`golive.leader.process`): answer each request it reads, evaluate or publish, with its
own connections to Postgres.

It keeps its connections between requests and exits at the end of its input, so it
lives no longer than the `golive run` that reads its answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import asyncpg

from golive import logs, runtime
from golive.domain.alerts import evaluate_alerts
from golive.leader.process import (
    Config,
    Derive,
    Derived,
    Evaluate,
    Evaluated,
    Failed,
    Published,
    Reply,
    Request,
    frame,
    read_frame,
)
from golive.metrics.kpis import render_state
from golive.publishing.stored import store_report
from golive.store.db import PacedConnection, create_pool, translated
from golive.store.derived import derive_pending
from golive.store.errors import StoreRejectedError, StoreUnavailableError
from golive.store.kpis import load_snapshot

NICENESS = 10
# Before an evaluation or a report: long enough to derive what a busy interval queued.
DERIVE_BEFORE_READING = 10.0


class Worker:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._pool: asyncpg.Pool | None = None

    async def answer(self, request: Request) -> Reply:
        try:
            if self._pool is None:
                # Paced: nobody waits on a snapshot or a report the way a batch is waited on.
                self._pool = await create_pool(
                    self.config.dsn, size=1, connection_class=PacedConnection
                )
            if isinstance(request, Derive):
                return await self.derive(self._pool, request.budget)
            # What is queued first: the figures and the reports read the derived rows.
            await self.derive(self._pool, DERIVE_BEFORE_READING)
            if isinstance(request, Evaluate):
                return await self.evaluate(self._pool, request)
            return Published(
                await store_report(
                    self._pool,
                    self.config.catalog,
                    request.period,
                    request.now,
                    request.delivery_due,
                )
            )
        except StoreUnavailableError as err:
            return Failed(unavailable=True, reason=str(err))
        except StoreRejectedError as err:
            return Failed(unavailable=False, reason=str(err))

    async def derive(self, pool: asyncpg.Pool, budget: float) -> Derived:
        """Rounds of `derive_pending` until nothing is queued or `budget` seconds passed."""
        rows, began = 0, time.monotonic()
        async with translated(), pool.acquire() as conn:
            while time.monotonic() - began < budget:
                taken = await derive_pending(conn)
                rows += taken
                if not taken:
                    break
            pending = await conn.fetchval("SELECT count(*) FROM deliveries_pending")
        return Derived(rows, int(pending))

    async def evaluate(self, pool: asyncpg.Pool, request: Evaluate) -> Evaluated:
        catalog, now = self.config.catalog, request.now
        async with translated(), pool.acquire() as conn:
            snapshot = await load_snapshot(conn, catalog, now)
        return Evaluated(render_state(snapshot), evaluate_alerts(snapshot, catalog, now))

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except TimeoutError:
                self._pool.terminate()


def main() -> int:
    # Ctrl-C reaches the whole process group: the parent drains, then ends our input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Ingest comes first where they share a core: a snapshot or a report may be late by
    # a second, a batch should not wait behind them.
    os.nice(NICENESS)
    runtime.tune_allocator()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break a frame
    requests = sys.stdin.buffer
    config = read_frame(requests)
    if not isinstance(config, Config):
        return 0
    logs.configure(config.log_level, config.secrets)
    worker = Worker(config)
    with asyncio.Runner() as runner:
        try:
            while isinstance(request := read_frame(requests), Request):
                answers.write(frame(runner.run(worker.answer(request))))
                answers.flush()
        except BrokenPipeError:
            pass  # the parent is gone
        finally:
            runner.run(worker.close())
    return 0


if __name__ == "__main__":
    sys.exit(main())
