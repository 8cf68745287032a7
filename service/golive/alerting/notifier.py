"""The leader's notifier: store the alert lifecycle in Postgres, deliver to Alertmanager.

Delivery failures never block anything: the states stay undelivered and go out at the
next evaluation. With no Alertmanager configured, alerts are still kept and listed.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

import asyncpg
import httpx

from golive.alerting.alertmanager import AlertmanagerUnavailableError, post_alerts
from golive.alerting.lifecycle import KEEP_RESOLVED, AlertState, delivered, due, payload, reconcile
from golive.domain.alerts import Alert
from golive.metrics.kpis import LeaderMetrics
from golive.store.alerts import forget_resolved, load_alerts, save_alerts
from golive.store.db import translated

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: httpx.AsyncClient,
        alertmanager_url: str | None,
        public_url: str,
        metrics: LeaderMetrics,
    ) -> None:
        self.pool, self.client = pool, client
        self.alertmanager_url, self.public_url = alertmanager_url, public_url
        self.metrics = metrics

    async def process(self, firing: list[Alert], now: datetime) -> dict[tuple[str, str], int]:
        """Record this evaluation's alerts, deliver what is due; return firing counts."""
        async with translated(), self.pool.acquire() as conn:
            async with conn.transaction():
                stored = await load_alerts(conn)
                states = reconcile(stored, firing, now)
                changed = [s for f, s in states.items() if stored.get(f) != s]
                await save_alerts(conn, changed)
            if self.alertmanager_url:
                sent = await self._deliver(list(states.values()), now)
                await save_alerts(conn, sent)
            await forget_resolved(conn, now - KEEP_RESOLVED)
        return dict(Counter((s.alertname, s.severity) for s in states.values() if s.firing))

    async def _deliver(self, states: list[AlertState], now: datetime) -> list[AlertState]:
        assert self.alertmanager_url is not None
        outgoing = due(states, now)
        self.metrics.alert_deliveries_pending.set(len(outgoing))
        if not outgoing:
            return []
        try:
            await post_alerts(
                self.client, self.alertmanager_url, payload(outgoing, now, self.public_url)
            )
        except AlertmanagerUnavailableError as err:
            self.metrics.alert_deliveries.labels("failed").inc()
            log.warning(
                "Alertmanager did not take %d alert(s), retrying next time: %s", len(outgoing), err
            )
            return []
        self.metrics.alert_deliveries.labels("delivered").inc()
        self.metrics.alert_deliveries_pending.set(0)
        return delivered(outgoing, now)
