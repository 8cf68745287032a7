"""The report as a JSON document: schema `golive.report/v1` (docs/reports.md).

Versioning: fields may be added within v1; renaming, removing or changing the meaning
of one makes v2. Instants are RFC 3339 UTC strings, local dates ISO dates, durations
seconds, ratios 0..1; a figure without data is null.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from golive.reports.model import Report

SCHEMA = "golive.report/v1"


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _day(value: date) -> str:
    return value.isoformat()


def to_document(report: Report) -> dict[str, Any]:
    period = report.period
    return {
        "schema": SCHEMA,
        "period": {
            "kind": period.kind,
            "label": period.label,
            "first_day": _day(period.first_day),
            "last_day": _day(period.last_day),
            "start": _instant(period.start),
            "end": _instant(period.end),
            "timezone": period.timezone,
            "complete": report.complete,
        },
        "generated_at": _instant(report.generated_at),
        "release": report.release,
        "headline": [
            {
                "name": t.headline.name,
                "title": t.headline.title,
                "unit": t.headline.unit,
                "value": t.value,
                "previous": t.previous,
                "change": t.change,
                "direction": t.direction,
                "improved": t.improved,
            }
            for t in report.headline
        ],
        "releases": [
            {
                "release": r.release,
                "target": _instant(r.target),
                "progress": r.progress,
                "tasks": r.tasks,
                "forecast_p50": _instant(r.forecast_p50),
                "forecast_p85": _instant(r.forecast_p85),
                "forecast_basis": r.forecast_basis,
                "at_risk": r.at_risk,
                "late": r.late,
                "objectives": [
                    {"objective": o.objective, "kpi": o.kpi, "value": o.value, "met": o.met}
                    for o in r.objectives
                ],
            }
            for r in report.releases
        ],
        "tasks_by_team": [
            {
                "team": t.team or None,
                "done": t.done,
                "open": t.open,
                "overdue": t.overdue,
                "blocked": t.blocked,
            }
            for t in report.tasks_by_team
        ],
        "corrective_measures": [
            {
                "task": m.task,
                "title": m.title,
                "owner": m.owner,
                "team": m.team,
                "release": m.release,
                "status": m.status,
                "created_at": _instant(m.created_at),
                "age_seconds": m.age_seconds(report.generated_at),
                "due": _instant(m.due),
            }
            for m in report.corrective_measures
        ],
        "rollouts": [
            {
                "rollout": c.rollout,
                "service": c.service,
                "environment": c.environment,
                "version": c.version,
                "started_at": _instant(c.started_at),
                "finished_at": _instant(c.finished_at),
                "outcome": c.outcome,
                "downtime_seconds": c.downtime_s,
                "degraded_seconds": c.degraded_s,
            }
            for c in report.rollouts
        ],
        "incidents": [
            {
                "incident": i.incident,
                "service": i.service,
                "environment": i.environment,
                "description": i.description,
                "detected_at": _instant(i.detected_at),
                "resolved_at": _instant(i.resolved_at),
                "recovery_seconds": i.recovery_s,
            }
            for i in report.incidents
        ],
        "alerts": {
            kind: [
                {
                    "alertname": a.alertname,
                    "severity": a.severity,
                    "labels": a.labels,
                    "summary": a.summary,
                    "starts_at": _instant(a.starts_at),
                    "resolved_at": _instant(a.resolved_at),
                }
                for a in alerts
            ]
            for kind, alerts in (
                ("fired", report.alerts_fired),
                ("resolved", report.alerts_resolved),
            )
        },
        "teams": [
            {
                "team": t.team,
                "events": t.events,
                "last_activity": _instant(t.last_activity),
                "open_tasks": t.open_tasks,
                "idle": t.idle,
                "idle_periods": [
                    {
                        "start": _instant(p.start),
                        "idle_from": _instant(p.idle_from),
                        "end": _instant(p.end),
                        "ongoing": p.ongoing,
                        "business_seconds": p.business_seconds,
                    }
                    for p in t.idle_periods
                ],
            }
            for t in report.teams
        ],
        "deployments_by_day": [
            {"day": _day(d), "deployments": n} for d, n in report.deployments_by_day
        ],
        "burn_up": [
            {
                "release": b.release,
                "scope": b.scope,
                "done_by_day": [{"day": _day(d), "done": n} for d, n in b.done_by_day],
            }
            for b in report.burn_up
        ],
    }
