"""The report as Markdown (GitHub-flavoured tables), ready to paste or mail as is."""

from __future__ import annotations

import html

from golive.reports import sections, text
from golive.reports.model import Report
from golive.reports.sections import Cell, Lines, Table, Verdict


def cell(value: Cell) -> str:
    """A table cell: producers' strings can hold anything, so no raw HTML, no `|`, one line."""
    if isinstance(value, Lines):
        value = value.sep.join(value.items) or value.none
    elif isinstance(value, Verdict):
        value = value.words
    return html.escape(" ".join(str(value).split()), quote=False).replace("|", "\\|")


def table(t: Table) -> list[str]:
    """A GitHub-flavoured table, or the sentence `t.empty` when it has no rows."""
    if not t.rows and t.empty is not None:
        return [t.empty]
    lines = [
        "| " + " | ".join(t.header) + " |",
        "| " + " | ".join("---" for _ in t.header) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.rows]
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

    out += ["## Headline", "", *table(sections.headline(report))]
    out += ["", "## Releases", "", *table(sections.releases(report))]
    objectives = sections.objectives(report)
    if objectives.rows:
        out += ["", "Objectives:", "", *table(objectives)]
    for t in (
        sections.tasks(report),
        sections.corrective_measures(report),
        sections.rollouts(report),
        sections.incidents(report),
    ):
        out += ["", f"## {t.label}", "", *table(t)]

    out += ["", "## Alerts", ""]
    for heading, t in sections.alerts(report):
        out += [f"{heading}:", "", *table(t), ""]

    out += ["## Teams", "", *table(sections.teams(report))]
    out += ["", "## Deployments per day", "", *table(sections.deployments_by_day(report))]
    return "\n".join(out) + "\n"
