"""The leader's loop: hold (or try to take) the leader lock, refresh the KPI snapshot
and golive's alerts every evaluation interval, and serve the state metrics; a standby
serves none. Between evaluations the leader derives the deliveries batches queued,
every derive interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from golive.alerting.notifier import Notifier
from golive.clock import Clock
from golive.leader.process import LeaderProcess, LeaderProcessLost
from golive.metrics.kpis import KpiCollector, LeaderMetrics
from golive.store.errors import StoreRejectedError, StoreUnavailableError
from golive.store.leader import LeaderLock

log = logging.getLogger(__name__)


class Evaluator:
    def __init__(
        self,
        lock: LeaderLock,
        process: LeaderProcess,
        collector: KpiCollector,
        metrics: LeaderMetrics,
        clock: Clock,
        interval: float,
        notifier: Notifier,
        *,
        derive_interval: float | None = None,
    ) -> None:
        self.lock, self.process, self.notifier = lock, process, notifier
        self.collector, self.metrics = collector, metrics
        self.clock, self.interval = clock, interval
        self.derive_interval = min(derive_interval or interval, interval)
        self.leading = False

    async def run(self, stop: asyncio.Event) -> None:
        try:
            since = self.interval  # evaluate at once
            while not stop.is_set():
                if since >= self.interval:
                    await self.tick()
                    since = 0.0
                elif self.leading:
                    await self.derive()
                step = min(self.derive_interval, self.interval - since)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=step)
                since += step
        finally:
            await self.process.close()
            await self.lock.release()
            self.metrics.leader.set(0)

    async def derive(self) -> None:
        """The deliveries batches queued, derived in the leader process."""
        try:
            derived = await self.process.derive(budget=self.derive_interval)
        except (StoreUnavailableError, StoreRejectedError, LeaderProcessLost) as err:
            self.metrics.derivation_errors.inc()
            log.warning("deriving deliveries failed (they are derived again): %s", err)
            return
        self.metrics.deliveries_pending.set(derived.pending)

    async def tick(self) -> None:
        leading = await self.lock.check()
        if leading != self.leading:
            log.info("leadership %s", "taken" if leading else "lost")
        self.leading = leading
        self.metrics.leader.set(1 if leading else 0)
        if not leading:
            self.collector.publish(None)
            await self.process.close()  # a standby holds no leader process
            return
        started = self.clock.monotonic()
        now = self.clock.now()
        try:
            # The snapshot and its rendering in the child; the alerts' lifecycle here,
            # where the lock is held.
            evaluated = await self.process.evaluate(now)
            firing = await self.notifier.process(evaluated.alerts, now)
        except (StoreUnavailableError, StoreRejectedError, LeaderProcessLost) as err:
            self.metrics.evaluation_errors.inc()
            log.warning("KPI / alert evaluation failed (the previous snapshot is served): %s", err)
            return
        self.collector.serve(evaluated.state, firing)
        self.metrics.evaluation_duration.observe(self.clock.monotonic() - started)
