"""Business time of a team calendar: hand-computed examples and inverse/additivity properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.domain.calendar import DEFAULT_CALENDAR, Calendar, parse_clock, parse_workdays

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0
EVERY_DAY = frozenset(range(7))
PARIS_OFFICE = Calendar(timezone="Europe/Paris")
# Work hours 01:00-05:00 every day contain the 02:00/03:00 switches of Europe/Paris.
PARIS_NIGHT = Calendar(timezone="Europe/Paris", workdays=EVERY_DAY, workhours=(time(1), time(5)))


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- construction and parsing ------------------------------------------------------------


def test_unknown_time_zone_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Calendar(timezone="Mars/Olympus")


@pytest.mark.parametrize("hours", [(time(18), time(9)), (time(9), time(9))])
def test_work_hours_must_start_before_they_end(hours: tuple[time, time]) -> None:
    with pytest.raises(ValueError, match="start before they end"):
        Calendar(workhours=hours)


def test_calendar_without_workdays_is_rejected() -> None:
    with pytest.raises(ValueError, match="workdays is empty"):
        Calendar(workdays=frozenset())


def test_default_calendar_is_utc_office_hours_monday_to_friday() -> None:
    calendar = DEFAULT_CALENDAR
    assert (calendar.timezone, calendar.workdays, calendar.workhours, calendar.holidays) == (
        "UTC",
        frozenset({0, 1, 2, 3, 4}),
        (time(9), time(18)),
        frozenset(),
    )


def test_parse_workdays_accepts_day_names_in_any_case() -> None:
    assert parse_workdays(["Mon", "TUE", "wed", " sun "]) == frozenset({0, 1, 2, 6})


def test_parse_workdays_names_the_bad_day() -> None:
    with pytest.raises(ValueError, match="'funday'"):
        parse_workdays(["mon", "funday"])


def test_parse_workdays_rejects_a_single_string() -> None:
    with pytest.raises(ValueError, match="list of day names"):
        parse_workdays("mon")


@pytest.mark.parametrize(("text", "expected"), [("09:00", time(9)), ("7:30", time(7, 30))])
def test_parse_clock_reads_hours_and_minutes(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(("text", "message"), [("24:00", "end by 23:59"), ("23:60", "00-59")])
def test_parse_clock_rejects_times_outside_the_day(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_clock(text)


@pytest.mark.parametrize("text", ["9", "09:00:00", "nine", "09h00", ""])
def test_parse_clock_rejects_other_formats(text: str) -> None:
    with pytest.raises(ValueError, match="expected HH:MM"):
        parse_clock(text)


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 11, 23, 10)  # noqa: DTZ001 - the point of the test
    aware = utc(2026, 11, 23, 10)
    for call in (
        lambda: DEFAULT_CALENDAR.local_date(naive),
        lambda: DEFAULT_CALENDAR.business_seconds(naive, aware),
        lambda: DEFAULT_CALENDAR.business_seconds(aware, naive),
        lambda: DEFAULT_CALENDAR.add_business_seconds(naive, 1.0),
        lambda: DEFAULT_CALENDAR.business_days_before(naive, 1),
        lambda: DEFAULT_CALENDAR.business_days_from(naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


# -- business_seconds --------------------------------------------------------------------


def test_weekend_counts_no_business_time() -> None:
    assert DEFAULT_CALENDAR.business_seconds(utc(2026, 11, 21), utc(2026, 11, 23)) == 0.0


def test_holiday_counts_no_business_time() -> None:
    calendar = Calendar(holidays=frozenset({date(2026, 12, 25)}))
    assert calendar.business_seconds(utc(2026, 12, 25), utc(2026, 12, 26)) == 0.0


def test_time_outside_work_hours_counts_nothing() -> None:
    assert DEFAULT_CALENDAR.business_seconds(utc(2026, 11, 23, 18), utc(2026, 11, 24, 9)) == 0.0


def test_end_before_start_counts_nothing() -> None:
    assert DEFAULT_CALENDAR.business_seconds(utc(2026, 11, 24), utc(2026, 11, 23)) == 0.0


def test_friday_evening_to_monday_morning_in_paris_is_two_hours() -> None:
    span = PARIS_OFFICE.business_seconds(paris(2026, 11, 20, 17), paris(2026, 11, 23, 10))
    assert span == 2 * HOUR


def test_work_hours_are_read_on_the_team_wall_clock() -> None:
    # 08:00-09:00 UTC is 09:00-10:00 in Paris in winter.
    assert PARIS_OFFICE.business_seconds(utc(2026, 11, 23, 8), utc(2026, 11, 23, 9)) == HOUR


def test_a_week_counts_five_work_days() -> None:
    assert DEFAULT_CALENDAR.business_seconds(utc(2026, 11, 23), utc(2026, 11, 30)) == 45 * HOUR


def test_a_year_counts_each_business_day_minus_holidays() -> None:
    # 2026 starts on a Thursday: 52 weeks and one Thursday, 261 weekdays; the Saturday
    # holiday was no workday anyway.
    holidays = frozenset({date(2026, 5, 1), date(2026, 12, 25), date(2026, 8, 15)})
    calendar = Calendar(holidays=holidays)
    assert calendar.business_seconds(utc(2026, 1, 1), utc(2027, 1, 1)) == (261 - 2) * 9 * HOUR


def test_spring_forward_window_counts_its_real_length() -> None:
    # 01:00 CET is 00:00 UTC, 05:00 CEST is 03:00 UTC.
    span = PARIS_NIGHT.business_seconds(paris(2026, 3, 29), paris(2026, 3, 30))
    assert span == 3 * HOUR


def test_fall_back_window_counts_its_real_length() -> None:
    # 01:00 CEST is 23:00 UTC the day before, 05:00 CET is 04:00 UTC.
    span = PARIS_NIGHT.business_seconds(paris(2026, 10, 25), paris(2026, 10, 26))
    assert span == 5 * HOUR


def test_a_year_across_both_dst_switches_nets_out() -> None:
    # 365 windows of 4 h, one hour short in March and one hour long in October; the March
    # switch day is a holiday here, so only the long October day remains.
    calendar = Calendar(
        "Europe/Paris", EVERY_DAY, (time(1), time(5)), frozenset({date(2026, 3, 29)})
    )
    span = calendar.business_seconds(paris(2026, 1, 1), paris(2027, 1, 1))
    assert span == 364 * 4 * HOUR + HOUR


def test_work_hours_starting_in_the_skipped_hour_use_the_offset_before_the_switch() -> None:
    # 02:30 does not exist on 2026-03-29 in Paris; read as CET it is 01:30 UTC (03:30 CEST).
    calendar = Calendar("Europe/Paris", EVERY_DAY, (time(2, 30), time(5)))
    assert calendar.business_seconds(paris(2026, 3, 29), paris(2026, 3, 30)) == 1.5 * HOUR


def test_a_day_skipped_by_the_time_zone_has_no_business_time() -> None:
    # Samoa skipped 2011-12-30; only the 29th and the 31st have work hours.
    apia = ZoneInfo("Pacific/Apia")
    calendar = Calendar("Pacific/Apia", EVERY_DAY)
    span = calendar.business_seconds(
        datetime(2011, 12, 29, tzinfo=apia), datetime(2012, 1, 1, tzinfo=apia)
    )
    assert span == 2 * 9 * HOUR


# -- add_business_seconds ----------------------------------------------------------------


def test_adding_business_time_skips_the_weekend() -> None:
    found = PARIS_OFFICE.add_business_seconds(paris(2026, 11, 20, 17), 2 * HOUR)
    assert found == paris(2026, 11, 23, 10)
    assert found.tzinfo is UTC


def test_adding_a_full_day_ends_at_closing_time_not_next_opening() -> None:
    found = DEFAULT_CALENDAR.add_business_seconds(utc(2026, 11, 23, 9), 9 * HOUR)
    assert found == utc(2026, 11, 23, 18)


def test_adding_zero_returns_start_in_utc() -> None:
    assert PARIS_OFFICE.add_business_seconds(paris(2026, 11, 21, 12), 0) == utc(2026, 11, 21, 11)


def test_adding_a_year_of_business_time_lands_a_year_later() -> None:
    found = DEFAULT_CALENDAR.add_business_seconds(utc(2026, 1, 1), 261 * 9 * HOUR)
    assert found == utc(2026, 12, 31, 18)


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_adding_negative_or_non_finite_time_is_rejected(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        DEFAULT_CALENDAR.add_business_seconds(utc(2026, 11, 23), seconds)


CALENDARS = st.sampled_from(
    [
        DEFAULT_CALENDAR,
        Calendar("Europe/Paris", holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)})),
        PARIS_NIGHT,
        Calendar("America/New_York", frozenset({6, 0, 1, 2, 3}), (time(7, 30), time(16))),
        # Lord Howe moves its clocks by 30 minutes at 02:00, inside these hours.
        Calendar("Australia/Lord_Howe", frozenset({0, 2, 4, 6}), (time(1, 45), time(2, 15))),
    ]
)
# Four years from 2025 at microsecond resolution, in UTC.
INSTANTS = st.integers(0, 4 * 366 * 86_400 * 10**6).map(
    lambda micros: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
)
SPANS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800))
# Up to 1000 business hours: decades of the 30-minute Lord Howe days. The first example
# in a year fills that year's DST cache, so a wall-clock deadline would be flaky.
BUSINESS_MICROS = st.integers(0, 1000 * 3600 * 10**6)
EXAMPLES = settings(database=None, deadline=None)


@EXAMPLES
@given(calendar=CALENDARS, start=INSTANTS, micros=BUSINESS_MICROS)
def test_add_business_seconds_inverts_business_seconds(
    calendar: Calendar, start: datetime, micros: int
) -> None:
    seconds = micros / 1e6
    found = calendar.add_business_seconds(start, seconds)
    assert calendar.business_seconds(start, found) == seconds


@EXAMPLES
@given(calendar=CALENDARS, start=INSTANTS, span=SPANS)
def test_adding_the_business_time_of_a_span_never_passes_its_end(
    calendar: Calendar, start: datetime, span: timedelta
) -> None:
    end = start + span
    seconds = calendar.business_seconds(start, end)
    found = calendar.add_business_seconds(start, seconds)
    assert found <= end
    assert calendar.business_seconds(start, found) == seconds


@EXAMPLES
@given(calendar=CALENDARS, start=INSTANTS, first=SPANS, second=SPANS)
def test_business_time_of_consecutive_spans_adds_up(
    calendar: Calendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    middle, end = start + first, start + first + second
    whole = calendar.business_seconds(start, end)
    parts = calendar.business_seconds(start, middle) + calendar.business_seconds(middle, end)
    assert whole == pytest.approx(parts, abs=1e-6)


# -- business days -----------------------------------------------------------------------


def test_local_date_follows_the_team_time_zone() -> None:
    assert PARIS_OFFICE.local_date(utc(2026, 11, 23, 23, 30)) == date(2026, 11, 24)


def test_business_days_before_skip_weekends_and_holidays_oldest_first() -> None:
    calendar = Calendar(holidays=frozenset({date(2026, 11, 19)}))
    days = calendar.business_days_before(utc(2026, 11, 24, 12), 4)
    assert days == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 23)]


def test_business_days_before_with_zero_count_is_empty() -> None:
    assert DEFAULT_CALENDAR.business_days_before(utc(2026, 11, 24), 0) == []


def test_business_days_before_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError, match="count must be >= 0"):
        DEFAULT_CALENDAR.business_days_before(utc(2026, 11, 24), -1)


def first_three(calendar: Calendar, instant: datetime) -> list[date]:
    days = calendar.business_days_from(instant)
    return [next(days), next(days), next(days)]


def test_business_days_from_start_today_while_work_hours_are_not_over() -> None:
    days = first_three(DEFAULT_CALENDAR, utc(2026, 11, 23, 17, 59))
    assert days == [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]


def test_business_days_from_start_tomorrow_once_work_hours_are_over() -> None:
    days = first_three(DEFAULT_CALENDAR, utc(2026, 11, 23, 18))
    assert days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]


def test_business_days_from_a_weekend_start_on_monday() -> None:
    days = first_three(DEFAULT_CALENDAR, utc(2026, 11, 27, 19))
    assert days == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]


def test_end_of_business_day_is_local_closing_time_in_utc() -> None:
    assert PARIS_OFFICE.end_of_business_day(date(2026, 7, 1)) == utc(2026, 7, 1, 16)
    assert PARIS_OFFICE.end_of_business_day(date(2026, 12, 1)) == utc(2026, 12, 1, 17)
