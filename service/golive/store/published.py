"""Published reports (`published_reports`): what the leader stored for each closed period,
and the webhook deliveries still owed.

A delivery is claimed by pushing `next_attempt_at` ahead (a lease) in the same statement
that picks it, so two instances that both think they lead (a failover) never POST the
same report at once; a crash between the POST and `delivered` leaves the lease to expire
and the report is sent again: the receiver dedupes on the idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive.domain.periods import Period
from golive.store.db import Connection


@dataclass(frozen=True, slots=True)
class PublishedReport:
    kind: str
    label: str
    timezone: str
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    delivery_due: bool
    delivered_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A report owed to the webhook."""

    kind: str
    label: str
    timezone: str
    document: dict[str, Any]
    attempts: int  # before this one

    @property
    def key(self) -> str:
        """The idempotency key: one per report, whatever the attempt or instance."""
        return f"golive-report:{self.kind}:{self.label}:{self.timezone}"


_SUMMARY = """kind, label, timezone, period_start, period_end, generated_at, delivery_due,
              delivered_at, attempts, last_error"""


def _summary(row: Any) -> PublishedReport:
    return PublishedReport(**{k: row[k] for k in PublishedReport.__slots__})


async def latest_start(conn: Connection, kind: str, timezone: str) -> datetime | None:
    """The start of the latest period of `kind` published in `timezone`, if any."""
    value: datetime | None = await conn.fetchval(
        "SELECT max(period_start) FROM published_reports WHERE kind = $1 AND timezone = $2",
        kind,
        timezone,
    )
    return value


async def save_published(
    conn: Connection,
    period: Period,
    generated_at: datetime,
    document: dict[str, Any],
    markdown: str,
    html: str,
    *,
    delivery_due: bool,
) -> bool:
    """Store a period's report; False when it was already there (published once only)."""
    inserted = await conn.fetchval(
        """INSERT INTO published_reports (kind, label, timezone, period_start, period_end,
                                          generated_at, document, markdown, html,
                                          delivery_due, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9, $10::boolean,
                   CASE WHEN $10::boolean THEN $6::timestamptz END)
           ON CONFLICT (kind, label, timezone) DO NOTHING
           RETURNING true""",
        period.kind,
        period.label,
        period.timezone,
        period.start,
        period.end,
        generated_at,
        document,
        markdown,
        html,
        delivery_due,
    )
    return bool(inserted)


async def list_published(
    conn: Connection, kind: str | None = None, limit: int = 100
) -> list[PublishedReport]:
    """The latest published reports first."""
    rows = await conn.fetch(
        f"""SELECT {_SUMMARY} FROM published_reports
            WHERE $1::text IS NULL OR kind = $1
            ORDER BY period_start DESC, kind, timezone LIMIT $2""",
        kind,
        limit,
    )
    return [_summary(r) for r in rows]


async def fetch_published(conn: Connection, kind: str, label: str, timezone: str, fmt: str) -> Any:
    """A published report in `fmt` (its JSON document, Markdown or HTML); None if there
    is no such report."""
    column = {"json": "document", "md": "markdown", "html": "html"}[fmt]
    return await conn.fetchval(
        f"""SELECT {column} FROM published_reports
            WHERE kind = $1 AND label = $2 AND timezone = $3""",
        kind,
        label,
        timezone,
    )


async def claim_deliveries(
    conn: Connection, now: datetime, lease: timedelta, limit: int = 10
) -> list[Delivery]:
    """Reports owed to the webhook and due now, oldest period first, leased until
    `now + lease`."""
    rows = await conn.fetch(
        """UPDATE published_reports p SET next_attempt_at = $1::timestamptz + $2::interval
           FROM (SELECT kind, label, timezone FROM published_reports
                 WHERE delivery_due AND delivered_at IS NULL AND next_attempt_at <= $1
                 ORDER BY period_start, kind LIMIT $3
                 FOR UPDATE SKIP LOCKED) AS due
           WHERE (p.kind, p.label, p.timezone) = (due.kind, due.label, due.timezone)
           RETURNING p.kind, p.label, p.timezone, p.document, p.attempts, p.period_start""",
        now,
        lease,
        limit,
    )
    ordered = sorted(rows, key=lambda r: (r["period_start"], r["kind"]))
    return [
        Delivery(r["kind"], r["label"], r["timezone"], r["document"], r["attempts"])
        for r in ordered
    ]


async def delivered(conn: Connection, delivery: Delivery, at: datetime) -> None:
    await conn.execute(
        """UPDATE published_reports
           SET delivered_at = $4, attempts = attempts + 1, last_error = NULL,
               next_attempt_at = NULL
           WHERE kind = $1 AND label = $2 AND timezone = $3""",
        delivery.kind,
        delivery.label,
        delivery.timezone,
        at,
    )


async def failed(conn: Connection, delivery: Delivery, retry_at: datetime, error: str) -> None:
    await conn.execute(
        """UPDATE published_reports
           SET attempts = attempts + 1, last_error = $4, next_attempt_at = $5
           WHERE kind = $1 AND label = $2 AND timezone = $3 AND delivered_at IS NULL""",
        delivery.kind,
        delivery.label,
        delivery.timezone,
        error[:1000],
        retry_at,
    )


async def pending_deliveries(conn: Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM published_reports WHERE delivery_due AND delivered_at IS NULL"
        )
    )
