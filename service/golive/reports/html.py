"""The report as one self-contained HTML page: the Markdown format's sections, in its
order and words, with inline SVG charts (`reports.charts`). No script and no external
resource, so the page can be mailed or archived as is; it reads on a phone (tables scroll
sideways, charts shrink) and prints on A4. Everything from the data is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import timedelta

from golive.reports import charts, text
from golive.reports.model import Report
from golive.reports.style import CSS


class Markup(str):
    """Markup already escaped, put in a page as is."""


def escape(value: object) -> str:
    return value if isinstance(value, Markup) else html.escape(str(value), quote=True)


def table(
    label: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    empty: str | None = None,
    *,
    numeric: Iterable[int] = (),
    wrap: Iterable[int] = (),
) -> str:
    """A table in a container that scrolls sideways on a narrow screen (and takes the
    keyboard's focus to do so), or the sentence `empty` when there are no rows. `numeric`
    and `wrap` are column indexes: right-aligned figures, and long texts that wrap."""
    rows = list(rows)
    if not rows and empty is not None:
        return f"<p>{escape(empty)}</p>"
    attrs = dict.fromkeys(numeric, ' class="num"') | dict.fromkeys(wrap, ' class="wrap"')

    def cells(tag: str, values: Sequence[object]) -> str:
        return "".join(
            f"<{tag}{attrs.get(i, '')}>{escape(v)}</{tag}>" for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(label)}">'
        f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def figure(caption: str, chart: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{chart}</figure>"


def render(report: Report) -> str:
    period, tz = report.period, report.period.timezone
    span = (
        period.first_day.isoformat()
        if period.kind == "daily"
        else f"{period.first_day.isoformat()} to {period.last_day.isoformat()}"
    )
    scope = f", release {report.release}" if report.release else ""
    title = escape(f"golive {period.kind} report: {period.label}{scope}")
    generated = escape(text.instant(report.generated_at, tz))
    noun = text.PERIOD_NOUN[period.kind]
    note = "" if report.complete else f'<p class="note">The {noun} is not over: figures so far.</p>'
    sections = (_headline, _releases, _tasks, _measures, _rollouts, _incidents, _alerts, _teams)
    body = "\n".join([*(section(report) for section in sections), _deployments(report)])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{title}</h1>
<p class="meta">{escape(span)} ({escape(tz)}). Generated {generated}.</p>{note}</header>
<main>
{body}
</main>
</body>
</html>
"""


def _section(anchor: str, heading: str, *parts: str) -> str:
    return (
        f'<section id="{anchor}" aria-labelledby="{anchor}-h">'
        f'<h2 id="{anchor}-h">{escape(heading)}</h2>\n' + "\n".join(parts) + "\n</section>"
    )


def _headline(report: Report) -> str:
    noun = text.PERIOD_NOUN[report.period.kind]
    trends = table(
        "Headline",
        ["", f"this {noun}", f"previous {noun}", "trend"],
        (
            [
                t.headline.title,
                text.figure(t.value, t.headline.unit),
                text.figure(t.previous, t.headline.unit),
                _trend(t.improved, text.trend(t)),
            ]
            for t in report.headline
        ),
        numeric=(1, 2),
        wrap=(0,),
    )
    chart = figure("Deployments per day", charts.deployments_per_day(report.deployments_by_day))
    return _section("headline", "Headline", f'<div class="headline">{trends}\n{chart}</div>')


def _releases(report: Report) -> str:
    tz, parts = report.period.timezone, []
    if report.releases:
        parts.append(
            table(
                "Releases",
                [
                    "release",
                    "progress",
                    "target",
                    "forecast P50",
                    "forecast P85",
                    "at risk",
                    "late",
                ],
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
                numeric=(1,),
            )
        )
        objectives = [(r.release, o) for r in report.releases for o in r.objectives]
        if objectives:
            parts.append("<h3>Objectives</h3>")
            parts.append(
                table(
                    "Objectives",
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
                    numeric=(3,),
                )
            )
    else:
        parts.append("<p>No open release.</p>")
    if report.burn_up:
        first, last = report.period.first_day, report.period.last_day
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        parts.append("<h3>Burn-up</h3>")
        burn_ups = (figure(f"Release {b.release}", charts.burn_up(b, days)) for b in report.burn_up)
        parts.append(f'<div class="charts">{"".join(burn_ups)}</div>')
    return _section("releases", "Releases", *parts)


def _tasks(report: Report) -> str:
    tasks = table(
        "Tasks by team",
        ["team", f"done this {text.PERIOD_NOUN[report.period.kind]}", "open", "overdue", "blocked"],
        (
            [t.team or "(no team)", t.done, t.open, t.overdue, t.blocked]
            for t in report.tasks_by_team
        ),
        empty="No tasks.",
        numeric=(1, 2, 3, 4),
    )
    return _section("tasks", "Tasks by team", tasks)


def _measures(report: Report) -> str:
    measures = table(
        "Open corrective measures",
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
        numeric=(6,),
        wrap=(1,),
    )
    return _section("corrective-measures", "Open corrective measures", measures)


def _rollouts(report: Report) -> str:
    heading, tz = "Rollouts with downtime or degraded time", report.period.timezone
    rollouts = table(
        heading,
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
        numeric=(6, 7),
    )
    # Without rollouts the sentence says it all: a chart saying "no data" would add nothing.
    costs = charts.downtime_per_rollout(report.rollouts) if report.rollouts else ""
    return _section(
        "rollouts", heading, rollouts, costs and figure("Downtime and degraded time", costs)
    )


def _incidents(report: Report) -> str:
    tz = report.period.timezone
    incidents = table(
        "Incidents",
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
        numeric=(5,),
        wrap=(6,),
    )
    return _section("incidents", "Incidents", incidents)


def _alerts(report: Report) -> str:
    tz, parts = report.period.timezone, []
    for heading, alerts in (("Fired", report.alerts_fired), ("Resolved", report.alerts_resolved)):
        parts.append(f"<h3>{heading}</h3>")
        parts.append(
            table(
                f"Alerts {heading.lower()}",
                ["alert", "severity", "labels", "summary", "started", "resolved"],
                (
                    [
                        a.alertname,
                        a.severity,
                        Markup(
                            "<br>".join(escape(f"{k}={v}") for k, v in sorted(a.labels.items()))
                        ),
                        a.summary or "",
                        text.instant(a.starts_at, tz),
                        text.instant(a.resolved_at, tz),
                    ]
                    for a in alerts
                ),
                empty="None.",
                wrap=(3,),
            )
        )
    return _section("alerts", "Alerts", *parts)


def _teams(report: Report) -> str:
    tz = report.period.timezone
    teams = table(
        "Teams",
        ["team", "events", "last activity", "open tasks", "idle periods"],
        (
            [
                t.team,
                t.events,
                text.instant(t.last_activity, tz),
                t.open_tasks,
                Markup("<br>".join(escape(text.idle_period(p, tz)) for p in t.idle_periods))
                or "none",
            ]
            for t in report.teams
        ),
        empty="No team known.",
        numeric=(1, 3),
        wrap=(4,),
    )
    return _section("teams", "Teams", teams)


def _deployments(report: Report) -> str:
    days = table(
        "Deployments per day",
        ["day", "deployments"],
        ([d.isoformat(), n] for d, n in report.deployments_by_day),
        empty="No data.",
        numeric=(1,),
    )
    return _section("deployments", "Deployments per day", days)


def _trend(improved: bool | None, words: str) -> Markup:
    if improved is None:
        return Markup(escape(words))
    return Markup(f'<span class="{"better" if improved else "worse"}">{escape(words)}</span>')
