"""Alert state in Postgres (the leader reads and writes it; the API lists it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from golive.alerting.lifecycle import AlertState
from golive.store.db import Connection

COLUMNS = (
    "fingerprint, alertname, severity, labels, annotations, path, starts_at, resolved_at, "
    "last_sent_at, resolution_sent"
)


def _state(r: object) -> AlertState:
    row = dict(r)  # type: ignore[call-overload]
    return AlertState(
        row["fingerprint"],
        row["alertname"],
        row["severity"],
        row["labels"],
        row["annotations"],
        row["path"],
        row["starts_at"],
        row["resolved_at"],
        row["last_sent_at"],
        row["resolution_sent"],
    )


async def load_alerts(
    conn: Connection, *, resolved_since: datetime | None = None
) -> dict[str, AlertState]:
    """Firing alerts, plus resolved ones since `resolved_since` (or whose resolution is not
    delivered yet)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM alerts
            WHERE resolved_at IS NULL OR NOT resolution_sent
               OR ($1::timestamptz IS NOT NULL AND resolved_at >= $1)
            ORDER BY starts_at, fingerprint""",
        resolved_since,
    )
    return {r["fingerprint"]: _state(r) for r in rows}


async def alerts_in(
    conn: Connection, column: str, start: datetime, end: datetime
) -> list[AlertState]:
    """Alerts that started (`column` = starts_at) or resolved (resolved_at) in [start, end)."""
    if column not in ("starts_at", "resolved_at"):
        raise ValueError(f"alerts are dated by starts_at or resolved_at, not {column!r}")
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM alerts WHERE {column} >= $1 AND {column} < $2
            ORDER BY {column}, alertname, fingerprint""",
        start,
        end,
    )
    return [_state(r) for r in rows]


async def save_alerts(conn: Connection, states: Iterable[AlertState]) -> None:
    items = list(states)
    if not items:
        return
    await conn.execute(
        f"""INSERT INTO alerts ({COLUMNS})
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[],
                                 $6::text[], $7::timestamptz[], $8::timestamptz[],
                                 $9::timestamptz[], $10::bool[])
            ON CONFLICT (fingerprint) DO UPDATE SET
                annotations = EXCLUDED.annotations, starts_at = EXCLUDED.starts_at,
                resolved_at = EXCLUDED.resolved_at, last_sent_at = EXCLUDED.last_sent_at,
                resolution_sent = EXCLUDED.resolution_sent, labels = EXCLUDED.labels,
                updated_at = now()""",
        [s.fingerprint for s in items],
        [s.alertname for s in items],
        [s.severity for s in items],
        [dict(s.labels) for s in items],
        [dict(s.annotations) for s in items],
        [s.path for s in items],
        [s.starts_at for s in items],
        [s.resolved_at for s in items],
        [s.last_sent_at for s in items],
        [s.resolution_sent for s in items],
    )


async def forget_resolved(conn: Connection, before: datetime) -> None:
    await conn.execute("DELETE FROM alerts WHERE resolved_at < $1 AND resolution_sent", before)
