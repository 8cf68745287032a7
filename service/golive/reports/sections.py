"""The report's tables, once: headers, cells, the sentence for an empty table, and which
columns hold figures. The Markdown and HTML formats only lay them out. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from golive.reports import text
from golive.reports.model import AlertRow, Report


@dataclass(frozen=True, slots=True)
class Lines:
    """A cell of several items: one per line where the format can, else joined by `sep`;
    `none` when there is no item."""

    items: tuple[str, ...]
    sep: str
    none: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A trend's words, with whether the move is the good one (None: neither)."""

    words: str
    improved: bool | None


Cell = str | int | Lines | Verdict


@dataclass(frozen=True, slots=True)
class Table:
    label: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str | None = None  # said instead of a table without rows
    numeric: tuple[int, ...] = ()  # columns of figures (right-aligned where it shows)
    wrap: tuple[int, ...] = ()  # columns of long text


def headline(report: Report) -> Table:
    noun = text.PERIOD_NOUN[report.period.kind]
    return Table(
        "Headline",
        ("", f"this {noun}", f"previous {noun}", "trend"),
        tuple(
            (
                t.headline.title,
                text.figure(t.value, t.headline.unit),
                text.figure(t.previous, t.headline.unit),
                Verdict(text.trend(t), t.improved),
            )
            for t in report.headline
        ),
        numeric=(1, 2),
        wrap=(0,),
    )


def releases(report: Report) -> Table:
    tz = report.period.timezone
    return Table(
        "Releases",
        ("release", "progress", "target", "forecast P50", "forecast P85", "at risk", "late"),
        tuple(
            (
                r.release,
                text.figure(r.progress, "ratio"),
                text.instant(r.target, tz),
                text.instant(r.forecast_p50, tz),
                text.instant(r.forecast_p85, tz),
                text.yes_no(r.at_risk),
                text.yes_no(r.late),
            )
            for r in report.releases
        ),
        empty="No open release.",
        numeric=(1,),
    )


def objectives(report: Report) -> Table:
    return Table(
        "Objectives",
        ("release", "objective", "KPI", "value", "met"),
        tuple(
            (
                r.release,
                o.objective,
                o.kpi,
                text.objective_value(o.kpi, o.value),
                text.yes_no(o.met),
            )
            for r in report.releases
            for o in r.objectives
        ),
        numeric=(3,),
    )


def tasks(report: Report) -> Table:
    return Table(
        "Tasks by team",
        ("team", f"done this {text.PERIOD_NOUN[report.period.kind]}", "open", "overdue", "blocked"),
        tuple(
            (t.team or "(no team)", t.done, t.open, t.overdue, t.blocked)
            for t in report.tasks_by_team
        ),
        empty="No tasks.",
        numeric=(1, 2, 3, 4),
    )


def corrective_measures(report: Report) -> Table:
    return Table(
        "Open corrective measures",
        ("task", "title", "owner", "team", "release", "status", "age"),
        tuple(
            (
                m.task,
                m.title or text.NO_DATA,
                m.owner or text.NO_DATA,
                m.team or text.NO_DATA,
                m.release or text.NO_DATA,
                m.status,
                text.duration(m.age_seconds(report.generated_at)),
            )
            for m in report.corrective_measures
        ),
        empty="None open.",
        numeric=(6,),
        wrap=(1,),
    )


def rollouts(report: Report) -> Table:
    tz = report.period.timezone
    return Table(
        "Rollouts with downtime or degraded time",
        (
            "rollout",
            "service",
            "environment",
            "version",
            "started",
            "outcome",
            "downtime",
            "degraded",
        ),
        tuple(
            (
                c.rollout,
                c.service,
                c.environment,
                c.version or text.NO_DATA,
                text.instant(c.started_at, tz),
                c.outcome or "in progress",
                text.duration(c.downtime_s),
                text.duration(c.degraded_s),
            )
            for c in report.rollouts
        ),
        empty="None: every rollout kept its minimum healthy instances.",
        numeric=(6, 7),
    )


def incidents(report: Report) -> Table:
    tz = report.period.timezone
    return Table(
        "Incidents",
        (
            "incident",
            "service",
            "environment",
            "detected",
            "resolved",
            "recovery time",
            "description",
        ),
        tuple(
            (
                i.incident,
                i.service or text.NO_DATA,
                i.environment or text.NO_DATA,
                text.instant(i.detected_at, tz),
                text.instant(i.resolved_at, tz),
                text.duration(i.recovery_s),
                i.description or "",
            )
            for i in report.incidents
        ),
        empty="None.",
        numeric=(5,),
        wrap=(6,),
    )


def alerts(report: Report) -> list[tuple[str, Table]]:
    """Alerts fired, then resolved, each with its sub-heading."""
    tz = report.period.timezone

    def of(heading: str, rows: tuple[AlertRow, ...]) -> tuple[str, Table]:
        return heading, Table(
            f"Alerts {heading.lower()}",
            ("alert", "severity", "labels", "summary", "started", "resolved"),
            tuple(
                (
                    a.alertname,
                    a.severity,
                    Lines(tuple(f"{k}={v}" for k, v in sorted(a.labels.items())), ", "),
                    a.summary or "",
                    text.instant(a.starts_at, tz),
                    text.instant(a.resolved_at, tz),
                )
                for a in rows
            ),
            empty="None.",
            wrap=(3,),
        )

    return [of("Fired", report.alerts_fired), of("Resolved", report.alerts_resolved)]


def teams(report: Report) -> Table:
    tz = report.period.timezone
    return Table(
        "Teams",
        ("team", "events", "last activity", "open tasks", "idle periods"),
        tuple(
            (
                t.team,
                t.events,
                text.instant(t.last_activity, tz),
                t.open_tasks,
                Lines(tuple(text.idle_period(p, tz) for p in t.idle_periods), "; ", "none"),
            )
            for t in report.teams
        ),
        empty="No team known.",
        numeric=(1, 3),
        wrap=(4,),
    )


def deployments_by_day(report: Report) -> Table:
    return Table(
        "Deployments per day",
        ("day", "deployments"),
        tuple((d.isoformat(), n) for d, n in report.deployments_by_day),
        empty="No data.",
        numeric=(1,),
    )
