"""Headline trends: which way a figure went, and whether that is better."""

import pytest

from golive.domain.trends import HEADLINES, headline_trends, trend

BY_NAME = {h.name: h for h in HEADLINES}


@pytest.mark.parametrize(
    ("name", "value", "previous", "direction", "improved"),
    [
        ("deployments", 12, 9, "up", True),
        ("deployments", 6, 9, "down", False),
        ("lead_time_p50", 3600, 7200, "down", True),  # shorter lead time is better
        ("change_failure_ratio", 0.2, 0.1, "up", False),
        ("rollout_downtime", 0, 30, "down", True),
        ("rollout_downtime", 0, 0, "flat", None),
        ("deployments", 100, 99, "flat", None),  # within 2 %
        ("deployments", 100, 97, "up", True),  # beyond 2 %
        ("tasks_done", 5, None, "new", None),
        ("lead_time_p90", None, 3600, "none", None),
    ],
)
def test_direction_and_whether_it_is_better(
    name: str, value: float | None, previous: float | None, direction: str, improved: bool | None
) -> None:
    result = trend(BY_NAME[name], value, previous)
    assert (result.direction, result.improved) == (direction, improved)


def test_relative_change() -> None:
    assert trend(BY_NAME["deployments"], 12, 8).change == pytest.approx(0.5)
    assert trend(BY_NAME["deployments"], 4, 8).change == pytest.approx(-0.5)
    assert trend(BY_NAME["deployments"], 4, 0).change is None  # no ratio from zero
    assert trend(BY_NAME["deployments"], 4, None).change is None


def test_every_headline_in_report_order_with_missing_figures_as_no_data() -> None:
    trends = headline_trends({"deployments": 3, "tasks_done": 2}, {"deployments": 3})
    assert [t.headline.name for t in trends] == [h.name for h in HEADLINES]
    by_name = {t.headline.name: t for t in trends}
    assert by_name["deployments"].direction == "flat"
    assert by_name["tasks_done"].direction == "new"
    assert by_name["lead_time_p50"].direction == "none"


def test_unknown_figures_and_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown headline figures: velocity"):
        headline_trends({"velocity": 1.0}, {})
    with pytest.raises(ValueError, match="finite"):
        trend(BY_NAME["deployments"], float("nan"), 1)
