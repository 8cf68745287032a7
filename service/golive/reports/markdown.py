"""The report as Markdown (GitHub-flavoured tables), ready to paste or mail as is."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from golive.reports import text
from golive.reports.model import Report


def cell(value: object) -> str:
    """A table cell: producers' strings can hold anything, so no raw HTML, no `|`, one line."""
    return html.escape(" ".join(str(value).split()), quote=False).replace("|", "\\|")


def table(
    header: Sequence[str], rows: Iterable[Sequence[object]], empty: str | None = None
) -> list[str]:
    """A GitHub-flavoured table, or the sentence `empty` when there are no rows."""
    rows = list(rows)
    if not rows and empty is not None:
        return [empty]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def render(report: Report) -> str:
    period, tz = report.period, report.period.timezone
    noun = text.PERIOD_NOUN[period.kind]
    span = (
        period.first_day.isoformat()
        if period.kind == "daily"
        else f"{period.first_day.isoformat()} to {period.last_day.isoformat()}"
    )
    scope = f", release {cell(report.release)}" if report.release else ""
    out = [f"# golive {period.kind} report: {period.label}{scope}", ""]
    out.append(f"{span} ({tz}). Generated {text.instant(report.generated_at, tz)}.")
    if not report.complete:
        out.append(f"The {noun} is not over: figures so far.")
    out.append("")

    out += ["## Headline", ""]
    out += table(
        ["", f"this {noun}", f"previous {noun}", "trend"],
        (
            [
                t.headline.title,
                text.figure(t.value, t.headline.unit),
                text.figure(t.previous, t.headline.unit),
                text.trend(t),
            ]
            for t in report.headline
        ),
    )

    out += ["", "## Releases", ""]
    if report.releases:
        out += table(
            ["release", "progress", "target", "forecast P50", "forecast P85", "at risk", "late"],
            (
                [
                    r.release,
                    text.figure(r.progress, "ratio"),
                    text.instant(r.target, tz),
                    text.instant(r.forecast_p50, tz),
                    text.instant(r.forecast_p85, tz),
                    text.yes_no(r.at_risk),
                    text.yes_no(r.late),
                ]
                for r in report.releases
            ),
        )
        objectives = [(r.release, o) for r in report.releases for o in r.objectives]
        if objectives:
            out += ["", "Objectives:", ""]
            out += table(
                ["release", "objective", "KPI", "value", "met"],
                (
                    [
                        release,
                        o.objective,
                        o.kpi,
                        text.objective_value(o.kpi, o.value),
                        text.yes_no(o.met),
                    ]
                    for release, o in objectives
                ),
            )
    else:
        out.append("No open release.")

    out += ["", "## Tasks by team", ""]
    out += table(
        ["team", f"done this {noun}", "open", "overdue", "blocked"],
        (
            [t.team or "(no team)", t.done, t.open, t.overdue, t.blocked]
            for t in report.tasks_by_team
        ),
        empty="No tasks.",
    )

    out += ["", "## Open corrective measures", ""]
    out += table(
        ["task", "title", "owner", "team", "release", "status", "age"],
        (
            [
                m.task,
                m.title or text.NO_DATA,
                m.owner or text.NO_DATA,
                m.team or text.NO_DATA,
                m.release or text.NO_DATA,
                m.status,
                text.duration(m.age_seconds(report.generated_at)),
            ]
            for m in report.corrective_measures
        ),
        empty="None open.",
    )

    out += ["", "## Rollouts with downtime or degraded time", ""]
    out += table(
        [
            "rollout",
            "service",
            "environment",
            "version",
            "started",
            "outcome",
            "downtime",
            "degraded",
        ],
        (
            [
                c.rollout,
                c.service,
                c.environment,
                c.version or text.NO_DATA,
                text.instant(c.started_at, tz),
                c.outcome or "in progress",
                text.duration(c.downtime_s),
                text.duration(c.degraded_s),
            ]
            for c in report.rollouts
        ),
        empty="None: every rollout kept its minimum healthy instances.",
    )

    out += ["", "## Incidents", ""]
    out += table(
        [
            "incident",
            "service",
            "environment",
            "detected",
            "resolved",
            "recovery time",
            "description",
        ],
        (
            [
                i.incident,
                i.service or text.NO_DATA,
                i.environment or text.NO_DATA,
                text.instant(i.detected_at, tz),
                text.instant(i.resolved_at, tz),
                text.duration(i.recovery_s),
                i.description or "",
            ]
            for i in report.incidents
        ),
        empty="None.",
    )

    out += ["", "## Alerts", ""]
    for title, alerts in (("Fired", report.alerts_fired), ("Resolved", report.alerts_resolved)):
        out += [f"{title}:", ""]
        out += table(
            ["alert", "severity", "labels", "summary", "started", "resolved"],
            (
                [
                    a.alertname,
                    a.severity,
                    ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items())),
                    a.summary or "",
                    text.instant(a.starts_at, tz),
                    text.instant(a.resolved_at, tz),
                ]
                for a in alerts
            ),
            empty="None.",
        )
        out.append("")

    out += ["## Teams", ""]
    out += table(
        ["team", "events", "last activity", "open tasks", "idle periods"],
        (
            [
                t.team,
                t.events,
                text.instant(t.last_activity, tz),
                t.open_tasks,
                "; ".join(text.idle_period(p, tz) for p in t.idle_periods) or "none",
            ]
            for t in report.teams
        ),
        empty="No team known.",
    )

    out += ["", "## Deployments per day", ""]
    out += table(["day", "deployments"], ([d.isoformat(), n] for d, n in report.deployments_by_day))
    return "\n".join(out) + "\n"
