"""Report periods: local days, ISO weeks and months, across DST, month and year ends."""

from datetime import UTC, date, datetime, timedelta

import pytest

from golive.domain.periods import (
    Period,
    due_periods,
    last_complete,
    period_containing,
    report_period,
)

PARIS = "Europe/Paris"


def test_a_paris_day_runs_from_local_midnight_to_local_midnight() -> None:
    day = period_containing("daily", date(2026, 11, 23), PARIS)
    assert (day.start, day.end) == (
        datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 0, tzinfo=UTC),
    )
    assert day.label == "2026-11-23"


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 10, 26), 24)],
)
def test_days_of_a_dst_switch_last_their_real_length(day: date, hours: int) -> None:
    period = period_containing("daily", day, PARIS)
    assert period.end - period.start == timedelta(hours=hours)


def test_the_week_of_the_autumn_switch_is_one_hour_longer() -> None:
    week = period_containing("weekly", date(2026, 10, 25), PARIS)  # a Sunday
    assert week.first_day == date(2026, 10, 19)
    assert week.last_day == date(2026, 10, 25)
    assert week.end - week.start == timedelta(days=7, hours=1)


@pytest.mark.parametrize(
    ("day", "label", "first"),
    [
        (date(2026, 11, 24), "2026-W48", date(2026, 11, 23)),
        (date(2026, 12, 31), "2026-W53", date(2026, 12, 28)),  # 2026 has 53 ISO weeks
        (date(2027, 1, 3), "2026-W53", date(2026, 12, 28)),  # a Sunday, still 2026's week
        (date(2027, 1, 4), "2027-W01", date(2027, 1, 4)),
        (date(2025, 12, 29), "2026-W01", date(2025, 12, 29)),  # week 1 starts in December
    ],
)
def test_iso_weeks_begin_on_monday_and_are_named_by_their_iso_year(
    day: date, label: str, first: date
) -> None:
    week = period_containing("weekly", day, "UTC")
    assert (week.label, week.first_day) == (label, first)
    assert week.last_day == first + timedelta(days=6)


@pytest.mark.parametrize(
    ("day", "last"),
    [
        (date(2026, 2, 10), date(2026, 2, 28)),
        (date(2028, 2, 10), date(2028, 2, 29)),  # leap year
        (date(2026, 12, 31), date(2026, 12, 31)),
        (date(2026, 4, 30), date(2026, 4, 30)),
    ],
)
def test_months_end_on_their_last_day(day: date, last: date) -> None:
    month = period_containing("monthly", day, PARIS)
    assert month.first_day == day.replace(day=1)
    assert month.last_day == last
    assert month.following().first_day == last + timedelta(days=1)


def test_previous_and_following_chain_without_gaps() -> None:
    for kind in ("daily", "weekly", "monthly"):
        period = period_containing(kind, date(2026, 3, 30), PARIS)
        assert period.previous().end == period.start
        assert period.following().start == period.end
        assert period.previous().following() == period


def test_the_default_is_the_last_complete_period_in_the_report_time_zone() -> None:
    # Tuesday 24 November, 00:30 in Paris = Monday 23:30 UTC.
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert last_complete("daily", now, PARIS).label == "2026-11-23"
    assert last_complete("daily", now, "UTC").label == "2026-11-22"
    assert last_complete("weekly", now, PARIS).label == "2026-W47"
    assert last_complete("monthly", now, PARIS).label == "2026-10"
    assert last_complete("daily", now, PARIS).is_complete(now)
    assert not period_containing("daily", date(2026, 11, 24), PARIS).is_complete(now)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        last_complete("daily", datetime(2026, 11, 24), PARIS)  # noqa: DTZ001 (on purpose)


def test_an_unknown_kind_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="daily, weekly, monthly"):
        period_containing("yearly", date(2026, 1, 1), PARIS)  # type: ignore[arg-type]


def test_periods_are_values() -> None:
    assert period_containing("weekly", date(2026, 11, 26), PARIS) == Period(
        "weekly", date(2026, 11, 23), PARIS
    )


def test_a_report_asks_for_the_period_of_a_date_or_the_last_complete_one() -> None:
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Tuesday 00:30 in Paris
    assert report_period("weekly", date(2026, 11, 25), now, PARIS).label == "2026-W48"
    assert report_period("daily", None, now, PARIS).label == "2026-11-23"
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus': use an IANA"):
        report_period("daily", None, now, "Mars/Olympus")


def test_due_periods_start_with_the_last_complete_one_then_catch_up_in_order() -> None:
    now = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # a Tuesday, just after midnight
    (first,) = due_periods("daily", None, now, "UTC", limit=10)
    assert first.label == "2026-11-23"
    # Published up to Friday 20: Saturday, Sunday and Monday are due, oldest first.
    latest = datetime(2026, 11, 20, tzinfo=UTC)
    assert [p.label for p in due_periods("daily", latest, now, "UTC", limit=10)] == [
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
    ]
    assert [p.label for p in due_periods("daily", latest, now, "UTC", limit=2)] == [
        "2026-11-21",
        "2026-11-22",
    ]
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    assert due_periods("daily", monday, now, "UTC", limit=10) == []  # up to date
    assert [p.label for p in due_periods("weekly", None, now, "UTC", limit=10)] == ["2026-W47"]


def test_due_periods_follow_the_report_zone() -> None:
    # 23:30 UTC on the 30th is already 1 December in Paris: November is complete there only.
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert due_periods("monthly", None, now, "UTC", limit=1)[0].label == "2026-10"
    assert due_periods("monthly", None, now, "Europe/Paris", limit=1)[0].label == "2026-11"


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1969, 12, 31), date(9999, 12, 31)])
def test_report_dates_outside_the_range_are_refused_not_crashed(day: date) -> None:
    # Found by schemathesis: the period before 0001-01-01 overflowed into a server error.
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="out of range: reports cover 1970-01-01 to 9998-12-31"):
        report_period("monthly", day, now, "UTC")
    assert report_period("monthly", date(9998, 12, 31), now, "UTC").label == "9998-12"
