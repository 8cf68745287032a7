"""The leader's publication loop: when a period closes (plus a delay for late events),
compute its report once, store it in `published_reports`, and deliver it to the webhook
with retries until it is taken.

Idempotent by construction: a report is stored under (period, label, zone) once, so a
restart, a second leader or a catch-up never publishes a period twice; deliveries are
state in Postgres, so a restart resumes them instead of sending again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import httpx

from golive.clock import Clock
from golive.domain.catalog import Catalog
from golive.domain.periods import Period, PeriodKind, due_periods
from golive.metrics.kpis import LeaderMetrics
from golive.publishing.stored import store_report
from golive.publishing.webhook import WebhookError, post_report
from golive.store import published
from golive.store.db import translated
from golive.store.errors import StoreRejectedError, StoreUnavailableError

log = logging.getLogger(__name__)

CATCH_UP = 5  # periods published per kind and tick, when golive was down for a while
LEASE = timedelta(minutes=2)  # > the webhook timeout: one instance posts a report at a time
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour apart: a receiver down for a
    day gets the report within the hour it returns."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), LAST_RETRY)


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    token: str | None
    client: httpx.AsyncClient


# (period, now, delivery due) -> whether this call stored it (False: it already was).
StoreReport = Callable[[Period, datetime, bool], Awaitable[bool]]


class Publisher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        catalog: Catalog,
        clock: Clock,
        metrics: LeaderMetrics,
        *,
        leading: Callable[[], bool],
        kinds: Sequence[PeriodKind],
        timezone: str,
        delay: timedelta,
        webhook: Webhook | None,
        interval: float,
        store: StoreReport | None = None,
    ) -> None:
        self.pool, self.catalog, self.clock, self.metrics = pool, catalog, clock, metrics
        # `golive run` stores reports from its leader process (`golive.leader`), off the
        # event loop that ingest shares; by default, here.
        self.store = store or functools.partial(store_report, pool, catalog)
        self.leading, self.kinds, self.timezone, self.delay = leading, kinds, timezone, delay
        self.webhook, self.interval = webhook, interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def tick(self) -> None:
        if not self.leading():
            return
        try:
            await self.publish_closed()
            if self.webhook is not None:
                await self.deliver(self.webhook)
        except (StoreUnavailableError, StoreRejectedError) as err:
            log.warning("report publication postponed: %s", err)

    async def publish_closed(self) -> list[Period]:
        """Store the report of every period that closed since the last one published."""
        done = []
        # A period is due once its end is `delay` behind: late events have landed.
        cutoff = self.clock.now() - self.delay
        for kind in self.kinds:
            async with translated(), self.pool.acquire() as conn:
                latest = await published.latest_start(conn, kind, self.timezone)
            for period in due_periods(kind, latest, cutoff, self.timezone, CATCH_UP):
                if await self.publish(period):
                    done.append(period)
        return done

    async def publish(self, period: Period) -> bool:
        stored = await self.store(period, self.clock.now(), self.webhook is not None)
        if stored:
            self.metrics.reports_published.labels(period.kind).inc()
            log.info("published the %s report %s (%s)", period.kind, period.label, period.timezone)
        return stored

    async def deliver(self, webhook: Webhook) -> None:
        """POST the reports owed to the webhook, oldest first; a failure is retried later."""
        while True:
            now = self.clock.now()
            async with translated(), self.pool.acquire() as conn:
                due = await published.claim_deliveries(conn, now, LEASE)
            if not due:
                break
            for delivery in due:
                await self._deliver_one(webhook, delivery)
        async with translated(), self.pool.acquire() as conn:
            self.metrics.report_deliveries_pending.set(await published.pending_deliveries(conn))

    async def _deliver_one(self, webhook: Webhook, delivery: published.Delivery) -> None:
        try:
            await post_report(webhook.client, webhook.url, webhook.token, delivery)
        except WebhookError as err:
            attempts = delivery.attempts + 1
            retry_at = self.clock.now() + retry_delay(attempts)
            self.metrics.report_deliveries.labels("failed").inc()
            log.warning(
                "report %s %s not delivered (attempt %d, next at %s): %s",
                delivery.kind,
                delivery.label,
                attempts,
                retry_at.isoformat(timespec="seconds"),
                err,
            )
            async with translated(), self.pool.acquire() as conn:
                await published.failed(conn, delivery, retry_at, str(err))
            return
        self.metrics.report_deliveries.labels("delivered").inc()
        async with translated(), self.pool.acquire() as conn:
            await published.delivered(conn, delivery, self.clock.now())
