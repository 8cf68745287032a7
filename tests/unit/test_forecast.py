"""Throughput history and Monte Carlo completion forecast, on hand-computed cases."""

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from golive.domain.calendar import DEFAULT_CALENDAR, Calendar
from golive.domain.forecast import TRIALS, Forecast, daily_throughput, forecast_completion

PARIS = ZoneInfo("Europe/Paris")
# Monday 2026-11-23, before work hours: that Monday is business day 0 of a forecast.
MONDAY_MORNING = datetime(2026, 11, 23, 8, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def forecast(remaining: int, throughput: list[int], **options: int) -> Forecast:
    return forecast_completion(remaining, throughput, DEFAULT_CALENDAR, MONDAY_MORNING, **options)


# -- daily_throughput --------------------------------------------------------------------


def test_throughput_counts_completions_per_business_day_oldest_first() -> None:
    # Now is Wednesday 25th: the three business days before are Fri 20, Mon 23, Tue 24.
    done_at = [
        utc(2026, 11, 19, 12),  # Thursday: before the window
        utc(2026, 11, 20, 9),
        utc(2026, 11, 20, 23, 59),
        utc(2026, 11, 21, 10),  # Saturday: counts on Monday
        utc(2026, 11, 22, 10),  # Sunday: counts on Monday
        utc(2026, 11, 23, 3),
        utc(2026, 11, 25, 9),  # today: not over yet
    ]
    assert daily_throughput(done_at, DEFAULT_CALENDAR, utc(2026, 11, 25, 10), days=3) == (2, 3, 0)


def test_weekend_completions_wait_until_their_business_day_is_over() -> None:
    # On Monday the Saturday completion belongs to today, which is not in the history yet.
    done_at = [utc(2026, 11, 20, 10), utc(2026, 11, 21, 10)]
    assert daily_throughput(done_at, DEFAULT_CALENDAR, utc(2026, 11, 23, 10), days=2) == (0, 1)


def test_holiday_completions_count_on_the_next_business_day() -> None:
    calendar = Calendar(holidays=frozenset({date(2026, 11, 24)}))
    done_at = [utc(2026, 11, 24, 10), utc(2026, 11, 25, 10)]
    assert daily_throughput(done_at, calendar, utc(2026, 11, 26, 10), days=2) == (0, 2)


def test_throughput_buckets_completions_by_team_local_date() -> None:
    # Friday 23:30 UTC is Saturday 00:30 in Paris: it counts on Monday, not Friday.
    calendar = Calendar(timezone="Europe/Paris")
    done_at = [utc(2026, 11, 20, 23, 30)]
    assert daily_throughput(done_at, calendar, utc(2026, 11, 24, 10), days=2) == (0, 1)


def test_throughput_over_zero_days_is_empty() -> None:
    assert daily_throughput([MONDAY_MORNING], DEFAULT_CALENDAR, MONDAY_MORNING, days=0) == ()


def test_throughput_rejects_naive_completions() -> None:
    naive = datetime(2026, 11, 20, 10)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        daily_throughput([naive], DEFAULT_CALENDAR, MONDAY_MORNING)


# -- forecast_completion -----------------------------------------------------------------


def test_constant_throughput_finishes_on_the_fifth_business_day() -> None:
    result = forecast(10, [2] * 20)
    friday_close = utc(2026, 11, 27, 18)
    assert result == Forecast(10, friday_close, friday_close, "throughput", (2,) * 20, TRIALS)


def test_today_does_not_count_once_its_work_hours_are_over() -> None:
    result = forecast_completion(10, [2], DEFAULT_CALENDAR, utc(2026, 11, 23, 18))
    assert result.p50 == result.p85 == utc(2026, 11, 30, 18)


def test_completion_is_the_team_local_closing_time() -> None:
    calendar = Calendar(timezone="Europe/Paris")
    result = forecast_completion(2, [2], calendar, MONDAY_MORNING)
    assert result.p50 == datetime(2026, 11, 23, 18, tzinfo=PARIS)
    assert result.p50.tzinfo is UTC


def test_percentiles_are_nearest_rank_simulated_days() -> None:
    # Two tasks, and a day finishes them with probability 1/4: a trial is done by day k
    # with probability 1 - 0.75 ** (k + 1). That first reaches 50 % on day 2 (0.58) and
    # 85 % on day 6 (0.867; day 5 is 0.822), far enough apart for 10 000 trials.
    result = forecast(2, [0, 0, 0, 2])
    assert result.p50 == utc(2026, 11, 25, 18)  # Wednesday, day 2
    assert result.p85 == utc(2026, 12, 1, 18)  # Tuesday, day 6
    assert result.basis == "throughput"


def test_same_inputs_give_the_same_forecast() -> None:
    throughput = [0, 1, 3, 0, 2, 1, 0, 0, 4, 1]
    assert forecast(40, throughput) == forecast(40, throughput)


def test_nothing_remaining_is_complete_now() -> None:
    paris_now = datetime(2026, 11, 23, 9, tzinfo=PARIS)
    result = forecast_completion(0, [], DEFAULT_CALENDAR, paris_now)
    assert result == Forecast(0, utc(2026, 11, 23, 8), utc(2026, 11, 23, 8), "complete", (), 0)
    assert result.p50 is not None
    assert result.p50.tzinfo is UTC


@pytest.mark.parametrize("throughput", [[], [0] * 20])
def test_without_completed_work_there_is_no_forecast(throughput: list[int]) -> None:
    result = forecast(5, throughput)
    assert result == Forecast(5, None, None, "no_history", tuple(throughput), 0)


def test_work_that_cannot_finish_within_the_horizon_has_no_dates() -> None:
    result = forecast(1000, [1], horizon=520)
    assert result == Forecast(1000, None, None, "beyond_horizon", (1,), TRIALS)


def test_median_within_the_horizon_keeps_its_date_when_p85_is_beyond() -> None:
    # Five tasks at one task per day with probability 1/2: done within 10 days with
    # probability 0.62, so the median is reached and the 85th percentile is not.
    result = forecast(5, [0, 1], horizon=10)
    assert result.basis == "beyond_horizon"
    assert result.p50 is not None
    assert result.p85 is None


def test_last_day_of_the_horizon_is_still_a_forecast() -> None:
    result = forecast(10, [2], horizon=5)
    assert result.basis == "throughput"
    assert result.p85 == utc(2026, 11, 27, 18)


def test_five_hundred_tasks_at_one_a_day_finish_in_about_five_hundred_business_days() -> None:
    # Cost is measured in `make bench`; here only the answer is checked.
    throughput = [0, 1, 2, 0, 1, 3, 1, 0, 2, 1, 0, 1, 1, 2, 0, 1, 1, 0, 2, 1]  # mean 1.0
    result = forecast(500, throughput)
    assert result.basis == "throughput"
    assert result.p50 is not None
    assert result.p85 is not None
    assert result.p50 <= result.p85


@pytest.mark.parametrize(
    ("remaining", "throughput", "options", "message"),
    [
        (-1, [1], {}, "remaining must be >= 0"),
        (5, [1, -1], {}, "samples must be >= 0"),
        (5, [1], {"trials": 0}, "trials must be >= 1"),
        (5, [1], {"horizon": 0}, "horizon must be >= 1"),
    ],
)
def test_invalid_arguments_are_rejected(
    remaining: int, throughput: list[int], options: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(remaining, throughput, **options)


def test_naive_now_is_rejected() -> None:
    naive = datetime(2026, 11, 23, 8)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        forecast_completion(5, [1], DEFAULT_CALENDAR, naive)


# -- cost ----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["golive.app", "golive.leader.worker"])
def test_numpy_is_loaded_by_the_first_forecast_not_by_importing_golive(module: str) -> None:
    # 16 MiB of RSS in every process that imports it, and ingest never forecasts
    # (docs/performance.md, eighth round). A fresh interpreter: this one has it already.
    check = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, datetime
        import {module}
        from golive.domain.calendar import DEFAULT_CALENDAR
        from golive.domain.forecast import forecast_completion
        assert "numpy" not in sys.modules, "numpy is loaded on import"
        forecast_completion(3, [1, 2], DEFAULT_CALENDAR, datetime(2026, 11, 23, 8, tzinfo=UTC))
        assert "numpy" in sys.modules, "the forecast ran without numpy"
        """
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)
