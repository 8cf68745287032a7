"""The leader's loop: hold (or try to take) the leader lock, refresh the KPI snapshot
every evaluation interval, and serve it; a standby serves no state metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

import asyncpg

from golive.alerting.notifier import Notifier
from golive.clock import Clock
from golive.domain.alerts import evaluate_alerts
from golive.domain.catalog import Catalog
from golive.metrics.kpis import KpiCollector, LeaderMetrics
from golive.store.db import translated
from golive.store.errors import StoreRejectedError, StoreUnavailableError
from golive.store.kpis import load_snapshot
from golive.store.leader import LeaderLock

log = logging.getLogger(__name__)


class Evaluator:
    def __init__(
        self,
        lock: LeaderLock,
        pool: asyncpg.Pool,
        catalog: Catalog,
        collector: KpiCollector,
        metrics: LeaderMetrics,
        clock: Clock,
        interval: float,
        notifier: Notifier,
    ) -> None:
        self.notifier = notifier
        self.lock, self.pool, self.catalog = lock, pool, catalog
        self.collector, self.metrics = collector, metrics
        self.clock, self.interval = clock, interval
        self.leading = False

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
        finally:
            await self.lock.release()
            self.metrics.leader.set(0)

    async def tick(self) -> None:
        leading = await self.lock.check()
        if leading != self.leading:
            log.info("leadership %s", "taken" if leading else "lost")
        self.leading = leading
        self.metrics.leader.set(1 if leading else 0)
        if not leading:
            self.collector.publish(None)
            return
        started = self.clock.monotonic()
        now = self.clock.now()
        try:
            async with translated(), self.pool.acquire() as conn:
                snapshot = await load_snapshot(conn, self.catalog, now)
            firing = await self.notifier.process(evaluate_alerts(snapshot, self.catalog, now), now)
        except (StoreUnavailableError, StoreRejectedError) as err:
            self.metrics.evaluation_errors.inc()
            log.warning("KPI / alert evaluation failed (the previous snapshot is served): %s", err)
            return
        self.collector.publish(replace(snapshot, alerts_firing=firing))
        self.metrics.evaluation_duration.observe(self.clock.monotonic() - started)
