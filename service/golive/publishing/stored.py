"""A closed period's report computed, rendered and stored: the part of a publication that
runs in the leader process (`golive.leader.worker`), which imports no HTTP client
(docs/performance.md: its memory)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from golive.domain.catalog import Catalog
from golive.domain.periods import Period
from golive.reports import html, markdown
from golive.reports.document import to_document
from golive.store import published
from golive.store.db import translated
from golive.store.reports import load_report


async def store_report(
    pool: asyncpg.Pool, catalog: Catalog, period: Period, now: datetime, delivery_due: bool
) -> bool:
    """Compute the period's report, render it and store it once. On one connection: a
    publication has no one waiting on it, and a second would take a core from ingest."""
    async with translated(), pool.acquire() as conn:
        report = await load_report(conn, catalog, period, now)
        return await published.save_published(
            conn,
            period,
            now,
            to_document(report),
            markdown.render(report),
            html.render(report),
            delivery_due=delivery_due,
        )
