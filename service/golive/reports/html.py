"""The report as one self-contained HTML page: the Markdown format's sections, in its
order and words, with inline SVG charts (`reports.charts`). No script and no external
resource, so the page can be mailed or archived as is; it reads on a phone (tables scroll
sideways, charts shrink) and prints on A4. Everything from the data is escaped."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import timedelta

from golive.reports import charts, sections, text
from golive.reports.model import Report
from golive.reports.sections import Cell, Lines, Table, Verdict
from golive.reports.style import CSS


class Markup(str):
    """Markup already escaped, put in a page as is."""


def escape(value: object) -> str:
    return value if isinstance(value, Markup) else html.escape(str(value), quote=True)


def cell(value: Cell) -> str:
    """A cell's markup: several items one per line, a trend coloured by its verdict."""
    if isinstance(value, Lines):
        return "<br>".join(escape(item) for item in value.items) or escape(value.none)
    if isinstance(value, Verdict):
        if value.improved is None:
            return escape(value.words)
        verdict = "better" if value.improved else "worse"
        return f'<span class="{verdict}">{escape(value.words)}</span>'
    return escape(value)


def table(t: Table) -> str:
    """A table in a container that scrolls sideways on a narrow screen (and takes the
    keyboard's focus to do so), or the sentence `t.empty` when it has no rows. Figures are
    right-aligned, long texts wrap."""
    if not t.rows and t.empty is not None:
        return f"<p>{escape(t.empty)}</p>"
    attrs = dict.fromkeys(t.numeric, ' class="num"') | dict.fromkeys(t.wrap, ' class="wrap"')

    def cells(tag: str, values: Sequence[Cell]) -> str:
        return "".join(f"<{tag}{attrs.get(i, '')}>{cell(v)}</{tag}>" for i, v in enumerate(values))

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in t.rows)
    return (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(t.label)}">'
        f"<table><thead><tr>{cells('th', t.header)}</tr></thead><tbody>{body}</tbody></table></div>"
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
    body = "\n".join(section(report) for section in SECTIONS)
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
    trends = table(sections.headline(report))
    chart = figure("Deployments per day", charts.deployments_per_day(report.deployments_by_day))
    return _section("headline", "Headline", f'<div class="headline">{trends}\n{chart}</div>')


def _releases(report: Report) -> str:
    parts = [table(sections.releases(report))]
    objectives = sections.objectives(report)
    if objectives.rows:
        parts += ["<h3>Objectives</h3>", table(objectives)]
    if report.burn_up:
        first, last = report.period.first_day, report.period.last_day
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        parts.append("<h3>Burn-up</h3>")
        burn_ups = (figure(f"Release {b.release}", charts.burn_up(b, days)) for b in report.burn_up)
        parts.append(f'<div class="charts">{"".join(burn_ups)}</div>')
    return _section("releases", "Releases", *parts)


def _rollouts(report: Report) -> str:
    rollouts = sections.rollouts(report)
    # Without rollouts the sentence says it all: a chart saying "no data" would add nothing.
    costs = charts.downtime_per_rollout(report.rollouts) if report.rollouts else ""
    return _section(
        "rollouts",
        rollouts.label,
        table(rollouts),
        costs and figure("Downtime and degraded time", costs),
    )


def _alerts(report: Report) -> str:
    parts = []
    for heading, t in sections.alerts(report):
        parts += [f"<h3>{heading}</h3>", table(t)]
    return _section("alerts", "Alerts", *parts)


def _table_section(anchor: str, of: Callable[[Report], Table]) -> Callable[[Report], str]:
    def section(report: Report) -> str:
        t = of(report)
        return _section(anchor, t.label, table(t))

    return section


SECTIONS = (
    _headline,
    _releases,
    _table_section("tasks", sections.tasks),
    _table_section("corrective-measures", sections.corrective_measures),
    _rollouts,
    _table_section("incidents", sections.incidents),
    _alerts,
    _table_section("teams", sections.teams),
    _table_section("deployments", sections.deployments_by_day),
)
