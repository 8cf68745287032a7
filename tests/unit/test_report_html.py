"""The HTML report and its SVG charts, from reports built by hand (no database)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise

import pytest

from golive.domain.periods import Period
from golive.domain.snapshot import ObjectiveValue, ReleaseRow
from golive.domain.teams import IdlePeriod
from golive.domain.trends import headline_trends
from golive.reports import charts, markdown
from golive.reports.html import render
from golive.reports.model import (
    AlertRow,
    BurnUp,
    CorrectiveMeasure,
    IncidentRow,
    Report,
    RolloutCost,
    TeamActivity,
    TeamTasks,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ("<script>alert(1)</script>", '"onload=alert(2) x="', "R&D <b>&amp;</b>")
OCTOBER = Period("monthly", date(2026, 10, 1), "Europe/Paris")
OCTOBER_DAYS = [date(2026, 10, 1) + timedelta(days=n) for n in range(31)]


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def rollout(n: int, downtime: float, degraded: float, service: str = "checkout") -> RolloutCost:
    return RolloutCost(
        rollout=f"rollout-{n:03d}",
        service=service,
        environment="production",
        version=f"2.{n}.0",
        started_at=at(1 + n % 28, 9 + n % 8),
        finished_at=at(1 + n % 28, 10 + n % 8),
        outcome="succeeded" if n % 3 else "rolled_back",
        downtime_s=downtime,
        degraded_s=degraded,
    )


def monthly_report() -> Report:
    """October 2026 as a busy organisation sees it: 3 releases, 8 costly rollouts, 4 teams."""
    # Fired and resolved within the month: listed in both tables.
    downtime_alert = AlertRow(
        "GoliveRolloutDowntime",
        "critical",
        {"service": "payments-gateway-eu-west", "environment": "production"},
        "No ready instance during rollout",
        at(3, 10),
        at(3, 11),
    )
    current = {
        "deployments": 64,
        "deployment_frequency": 64 / 31,
        "lead_time_p50": 20 * 3600,
        "lead_time_p90": 3 * 86400 + 4 * 3600,
        "change_failure_ratio": 0.11,
        "recovery_time_p50": 2 * 3600 + 600,
        "rework_ratio": 0.05,
        "rollout_downtime": 1850,
        "rollout_degraded": 9400,
        "tasks_done": 57,
        "throughput": 57 / 22,
    }
    previous = {**current, "deployments": 51, "change_failure_ratio": 0.08, "tasks_done": 57}
    previous["lead_time_p90"] = None
    releases = tuple(
        ReleaseRow(
            release=name,
            target=at(day, 16),
            progress=progress,
            tasks={"done": done, "open": 40 - done},
            forecast_p50=at(min(day + 3, 31), 12),
            forecast_p85=at(min(day + 6, 31), 12),
            forecast_basis="throughput",
            at_risk=risk,
            late=False,
            objectives=(
                ObjectiveValue("fast lead time", "lead_time_p50", 20 * 3600, True),
                ObjectiveValue("few failures", "change_failure_ratio", 0.11, False),
            ),
        )
        for name, day, progress, done, risk in (
            ("2026.10 payments", 20, 0.9, 36, False),
            ("2026.11 storefront", 28, 0.45, 18, True),
            ("mobile-4.2", 30, 0.2, 8, None),
        )
    )
    burn_up = tuple(
        BurnUp(
            r.release,
            40,
            tuple(
                (d, min(r.tasks["done"], i * r.tasks["done"] // 25))
                for i, d in enumerate(OCTOBER_DAYS)
            ),
        )
        for r in releases
    )
    deployments = tuple(
        (d, (i * 7) % 5 + (3 if d.weekday() < 5 else 0)) for i, d in enumerate(OCTOBER_DAYS)
    )
    idle = IdlePeriod(at(12, 10), at(12, 14), at(14, 11), False, 10 * 3600)
    return Report(
        period=OCTOBER,
        generated_at=datetime(2026, 11, 1, 6, tzinfo=UTC),
        release=None,
        headline=headline_trends(current, previous),
        releases=releases,
        tasks_by_team=tuple(
            TeamTasks(team, done, open_, overdue, 1)
            for team, done, open_, overdue in (
                ("payments", 21, 9, 2),
                ("storefront", 18, 14, 0),
                ("mobile", 12, 20, 5),
                ("", 6, 3, 1),
            )
        ),
        corrective_measures=(
            CorrectiveMeasure(
                "CM-12",
                "Add a readiness probe to checkout so rollouts wait for warm caches",
                "alice",
                "payments",
                "2026.10 payments",
                "in_progress",
                at(3),
                at(30),
            ),
            CorrectiveMeasure("CM-14", None, None, None, None, "open", None, None),
        ),
        rollouts=tuple(
            rollout(n, d, g, s)
            for n, (d, g, s) in enumerate(
                [
                    (30, 30, "checkout"),
                    (0, 600, "search"),
                    (1200, 5400, "payments-gateway-eu-west"),
                    (45, 45, "checkout"),
                    (0, 1200, "cart"),
                    (575, 1800, "payments-gateway-eu-west"),
                    (0, 120, "search"),
                    (0, 200, "profile"),
                ]
            )
        ),
        incidents=(
            IncidentRow(
                "INC-481",
                "payments-gateway-eu-west",
                "production",
                "Card payments failed for EU customers after 2.2.0: connection pool exhausted",
                at(3, 10),
                at(3, 12, 20),
            ),
            IncidentRow("INC-490", None, None, None, at(17, 8), None),
        ),
        alerts_fired=(
            AlertRow(
                "GoliveReleaseAtRisk",
                "warning",
                {"release": "2026.11 storefront"},
                "Release 2026.11 storefront may miss its target",
                at(20),
                None,
            ),
            downtime_alert,
        ),
        alerts_resolved=(downtime_alert,),
        teams=(
            TeamActivity("payments", 412, at(31, 17), 9, ()),
            TeamActivity(
                "storefront",
                250,
                at(30, 11),
                14,
                (idle, replace(idle, start=at(28, 11), end=at(31, 23), ongoing=True)),
            ),
            TeamActivity("mobile", 96, at(29, 15), 20, ()),
            TeamActivity("data", 0, None, 0, ()),
        ),
        deployments_by_day=deployments,
        burn_up=burn_up,
    )


def empty_report() -> Report:
    return Report(
        period=Period("daily", date(2026, 10, 5), "UTC"),
        generated_at=at(5, 15),
        release=None,
        headline=headline_trends({}, {}),
        releases=(),
        tasks_by_team=(),
        corrective_measures=(),
        rollouts=(),
        incidents=(),
        alerts_fired=(),
        alerts_resolved=(),
        teams=(),
        deployments_by_day=(),
        burn_up=(),
    )


def hostile_report(strings: tuple[str, str, str] = HOSTILE) -> Report:
    """Every string a producer chooses holds markup, quotes or ampersands."""
    script, quote, amp = strings
    report = monthly_report()
    name = f"{script}{quote}{amp}"
    return replace(
        report,
        release=name,
        releases=tuple(
            replace(r, release=name, objectives=(ObjectiveValue(name, "lead_time_p50", 1.0, True),))
            for r in report.releases
        ),
        burn_up=tuple(replace(b, release=name) for b in report.burn_up),
        tasks_by_team=(TeamTasks(name, 1, 2, 3, 4),),
        corrective_measures=(CorrectiveMeasure(name, name, name, name, name, name, at(1), None),),
        rollouts=tuple(
            replace(
                c,
                rollout=f"{c.rollout}{script}",
                service=quote,
                environment=amp,
                version=name,
                outcome=name,
            )
            for c in report.rollouts
        ),
        incidents=(IncidentRow(name, name, name, name, at(2), at(3)),),
        alerts_fired=(AlertRow(name, name, {name: name}, name, at(4), None),),
        alerts_resolved=(AlertRow(name, name, {"k": name}, name, at(4), at(5)),),
        teams=(TeamActivity(name, 1, at(6), 1, ()),),
    )


class Tags(HTMLParser):
    """Every start tag with its attributes, and whether each element is closed in order."""

    VOID = frozenset({"meta", "br", "link", "img", "hr", "input", "source", "wbr"})

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.doctype = ""
        self.feed(page)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(t, a) for t, a in self.tags if name in (a.get("class") or "").split()]


def svgs(markup: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", markup, re.DOTALL)]


def rects(chart: ET.Element, cls: str) -> list[ET.Element]:
    return [r for r in chart.iter(f"{SVG}rect") if r.get("class") == cls]


def number(element: ET.Element, name: str) -> float:
    return float(element.get(name, "nan"))


def test_page_is_one_self_contained_well_formed_html5_document() -> None:
    page = render(monthly_report())
    parsed = Tags(page)
    assert page.startswith("<!doctype html>")
    assert parsed.doctype.lower() == "doctype html"
    assert parsed.errors == []
    assert parsed.open == []
    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    assert (
        "meta",
        {"name": "viewport", "content": "width=device-width, initial-scale=1"},
    ) in parsed.tags
    assert [t for t, _ in parsed.tags].count("style") == 1
    assert not {"script", "link", "img", "iframe"} & {t for t, _ in parsed.tags}
    # Nothing fetched: the only URL is the SVG namespace, which is a name, not a resource.
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * 5
    assert "@media print" in page
    assert "break-inside: avoid" in page


def test_page_has_the_markdown_sections_in_the_same_order() -> None:
    report = monthly_report()
    page_h2 = re.findall(r"<h2[^>]*>(.*?)</h2>", render(report))
    markdown_h2 = re.findall(r"^## (.*)$", markdown.render(report), re.MULTILINE)
    assert page_h2 == markdown_h2
    assert len(page_h2) == 9


def test_charts_sit_in_their_sections_with_their_classes() -> None:
    page = render(monthly_report())
    sections = dict(re.findall(r'<section id="([^"]+)".*?>(.*?)</section>', page, re.DOTALL))
    assert sections["headline"].count('class="chart chart-deployments"') == 1
    assert sections["releases"].count('class="chart chart-burn-up"') == 3
    assert sections["rollouts"].count('class="chart chart-downtime"') == 1
    assert len(svgs(page)) == 5


def test_every_chart_is_an_accessible_svg_that_scales_with_its_container() -> None:
    for chart in svgs(render(monthly_report())):
        assert chart.tag == f"{SVG}svg"
        assert chart.get("width") == "100%"
        assert chart.get("height") is None  # the viewBox sets the aspect ratio
        assert re.fullmatch(r"0 0 \d+ \d+(\.\d)?", chart.get("viewBox", ""))
        assert chart.get("role") == "img"
        label = chart.get("aria-label")
        assert label
        assert chart[0].tag == f"{SVG}title"
        assert chart[0].text == label
        # Axes: a name and tick values.
        texts = [t.text for t in chart.iter(f"{SVG}text")]
        assert len(texts) >= 4


def test_strings_from_producers_are_escaped_everywhere() -> None:
    page = render(hostile_report())
    assert "<script" not in page.lower()
    assert "<b>" not in page
    assert '"onload' not in page
    assert re.findall(r"&(?!(?:amp|lt|gt|quot|#x27);)", page) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;onload=alert(2) x=&quot;" in page
    assert "R&amp;D &lt;b&gt;&amp;amp;&lt;/b&gt;" in page
    parsed = Tags(page)
    assert parsed.errors == []
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    # The charts hold the strings as text, intact once parsed back.
    titles = " ".join(t.text or "" for chart in svgs(page) for t in chart.iter(f"{SVG}title"))
    for string in HOSTILE:
        assert string in titles


def test_an_attribute_breakout_with_an_image_is_only_ever_text() -> None:
    breakout = '"><img src=x onerror=alert(3)>'
    page = render(hostile_report(("<script>alert(1)</script>", breakout, f"'{breakout}")))
    parsed = Tags(page)
    assert parsed.errors == []
    assert not {"script", "img"} & {t for t, _ in parsed.tags}
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    assert "&quot;&gt;&lt;img src=x onerror=alert(3)&gt;" in page
    assert breakout in "".join(parsed.text)  # shown to the reader, as text


def test_empty_report_says_there_is_no_data() -> None:
    page = render(empty_report())
    parsed = Tags(page)
    assert parsed.errors == []
    assert svgs(page) == []
    assert [a["class"] for _, a in parsed.with_class("no-data")] == [
        "chart chart-deployments no-data"
    ]
    for sentence in ("No open release.", "No tasks.", "None open.", "No team known.", "No data."):
        assert sentence in page
    assert "None: every rollout kept its minimum healthy instances." in page
    assert (
        charts.deployments_per_day([])
        == '<p class="chart chart-deployments no-data">No deployment data for the period.</p>'
    )
    assert "no-data" in charts.downtime_per_rollout([])
    assert "no-data" in charts.burn_up(BurnUp("<R1>", 4, ()))
    assert "&lt;R1&gt;" in charts.burn_up(BurnUp("<R1>", 4, ()))


def test_report_of_a_period_not_over_says_so() -> None:
    report = replace(empty_report(), generated_at=at(5, 15))
    assert "The day is not over: figures so far." in render(report)
    assert "not over" not in render(replace(report, generated_at=at(6, 1)))


def test_bar_heights_are_proportional_to_deployments() -> None:
    days = [(date(2026, 10, 5) + timedelta(days=n), count) for n, count in enumerate([2, 4, 0, 1])]
    (chart,) = svgs(charts.deployments_per_day(days))
    bars = rects(chart, "bar")
    assert [int(b.get("data-value", "-1")) for b in bars] == [2, 4, 0, 1]
    heights = [number(b, "height") for b in bars]
    # Ticks 0 to 4. The chart is 200 high and a line more (14) to name the weekdays of a
    # week or less; the plot spans y 24 to 160, above the day axis's 54.
    assert heights == [68, 136, 0, 34]
    assert {number(b, "y") + number(b, "height") for b in bars} == {160}
    assert number(bars[1], "y") == 24
    widths = {number(b, "width") for b in bars}
    assert len(widths) == 1
    xs = [number(b, "x") for b in bars]
    assert xs == sorted(xs)
    steps = [b - a for a, b in pairwise(xs)]
    assert max(steps) - min(steps) <= 0.2  # coordinates are rounded to a tenth


def test_downtime_bars_are_proportional_and_both_series_have_a_legend() -> None:
    (chart,) = svgs(charts.downtime_per_rollout([rollout(1, 30, 90), rollout(2, 0, 60)]))
    downtime, degraded = rects(chart, "downtime"), rects(chart, "degraded")
    assert [number(r, "width") for r in downtime][1] == 0
    assert number(degraded[0], "width") == pytest.approx(
        1.5 * number(degraded[1], "width"), abs=0.1
    )
    assert number(downtime[0], "width") == pytest.approx(number(degraded[0], "width") / 3, abs=0.1)
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert {"downtime", "degraded"} <= set(texts)
    assert {"0 s", "30 s", "1 min", "1 min 30 s"} <= set(texts)  # ticks every 30 s, values
    assert downtime[0].get("fill") != degraded[0].get("fill")


def test_a_31_day_month_thins_its_day_labels_so_they_do_not_overlap() -> None:
    days = [(d, n % 4) for n, d in enumerate(OCTOBER_DAYS)]
    (chart,) = svgs(charts.deployments_per_day(days))
    assert len(rects(chart, "bar")) == 31
    labels = [t for t in chart.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert 6 <= len(labels) < 31
    assert labels[0].text == "1"
    xs = [number(t, "x") for t in labels]
    # Each label is at most two digits 12 units high: about 15 units wide.
    assert min(b - a for a, b in pairwise(xs)) >= 2 * 0.64 * 12 + 4
    assert "day, October 2026" in [t.text for t in chart.iter(f"{SVG}text")]


def test_a_week_labels_every_day_with_its_weekday() -> None:
    week = [(date(2026, 11, 16) + timedelta(days=n), n) for n in range(7)]
    (chart,) = svgs(charts.deployments_per_day(week))
    labels = [t.text for t in chart.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert labels == ["16", "17", "18", "19", "20", "21", "22"]
    weekdays = [t.text for t in chart.iter(f"{SVG}text") if t.get("class") == "weekday"]
    assert weekdays == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_days_without_any_deployment_draw_an_axis_and_say_so() -> None:
    (chart,) = svgs(charts.deployments_per_day([(d, 0) for d in OCTOBER_DAYS[:7]]))
    assert {number(b, "height") for b in rects(chart, "bar")} == {0}
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert "no deployment in the period" in texts
    assert {"0", "1"} <= set(texts)


def test_a_single_day_is_one_centred_bar_and_one_burn_up_point() -> None:
    (bars,) = svgs(charts.deployments_per_day([(date(2026, 10, 5), 3)]))
    (bar,) = rects(bars, "bar")
    bottom = str(int(number(bar, "y") + number(bar, "height")))
    (baseline,) = [
        line
        for line in bars.iter(f"{SVG}line")
        if line.get("y1") == line.get("y2") == bottom and line.get("stroke") == "#222"
    ]
    centre = (number(baseline, "x1") + number(baseline, "x2")) / 2
    assert number(bar, "x") + number(bar, "width") / 2 == pytest.approx(centre, abs=0.1)
    (burn,) = svgs(charts.burn_up(BurnUp("R1", 0, ((date(2026, 10, 5), 0),))))
    assert len(list(burn.iter(f"{SVG}circle"))) == 1
    (line,) = burn.iter(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 1


def test_burn_up_spans_the_whole_period_and_draws_the_scope() -> None:
    done = ((date(2026, 10, 1), 0), (date(2026, 10, 2), 3), (date(2026, 10, 3), 6))
    (chart,) = svgs(charts.burn_up(BurnUp("R1", 12, done), OCTOBER_DAYS))
    ticks = [t for t in chart.iter(f"{SVG}line") if t.get("y2") and t.get("x1") == t.get("x2")]
    assert len([t for t in ticks if t.get("stroke") == "#222"]) == 31  # a tick a day
    points = [
        tuple(map(float, p.split(",")))
        for p in next(chart.iter(f"{SVG}polyline")).get("points", "").split()
    ]
    assert len(points) == 3
    (scope,) = [line for line in chart.iter(f"{SVG}line") if line.get("class") == "scope"]
    zero_y, scope_y = points[0][1], number(scope, "y1")
    # 6 of 12 tasks: half-way from the axis to the scope line.
    assert points[2][1] == pytest.approx((zero_y + scope_y) / 2, abs=0.1)
    assert "6 of 12 tasks done by the end of 2026-10-03" in (chart.get("aria-label") or "")


def test_forty_rollouts_get_a_row_each_and_long_names_are_cut() -> None:
    costs = [rollout(n, n * 10, n * 30, service="s" * (60 if n == 7 else 8)) for n in range(40)]
    (chart,) = svgs(charts.downtime_per_rollout(costs))
    rows = [g for g in chart.iter(f"{SVG}g") if g.get("class") == "rollout"]
    assert len(rows) == 40
    names = [next(g.iter(f"{SVG}text")) for g in rows]
    ys = [number(t, "y") for t in names]
    assert min(b - a for a, b in pairwise(ys)) >= 30
    cut = names[7].text or ""
    assert cut.endswith("…")
    assert (rows[7].find(f"{SVG}title").text or "").endswith("s" * 60 + " production")  # type: ignore[union-attr]
    view_height = float((chart.get("viewBox") or "").split()[3])
    assert view_height >= 40 * 36
