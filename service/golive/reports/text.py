"""How figures read in a report: durations, ratios, instants in the report's zone.
Shared by the Markdown and HTML formats."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from golive.domain.teams import IdlePeriod
from golive.domain.trends import Trend, Unit

NO_DATA = "\u2013"  # an en dash: no data
PERIOD_NOUN = {"daily": "day", "weekly": "week", "monthly": "month"}


def duration(seconds: float | None) -> str:
    """1 d 2 h, 3 h 5 min, 4 min 30 s, 12 s."""
    if seconds is None:
        return NO_DATA
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return " ".join(f"{n} {unit}" for n, unit in parts[first : first + 2] if n)


def figure(value: float | None, unit: Unit) -> str:
    if value is None:
        return NO_DATA
    if unit == "seconds":
        return duration(value)
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "per_day":
        return f"{value:.2f}/day"
    return f"{value:g}"


def instant(value: datetime | None, timezone: str) -> str:
    if value is None:
        return NO_DATA
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def day(value: datetime | None, timezone: str) -> str:
    if value is None:
        return NO_DATA
    return value.astimezone(ZoneInfo(timezone)).strftime("%a %d %b")


def trend(t: Trend) -> str:
    """▲ +50 % (better), ▼ -20 % (worse), = (flat), new, or the no-data dash."""
    if t.direction == "none":
        return NO_DATA
    if t.direction == "new":
        return "new"
    if t.direction == "flat":
        return "= flat"
    arrow = "▲" if t.direction == "up" else "▼"
    change = "" if t.change is None else f" {t.change:+.0%}"
    verdict = "better" if t.improved else "worse"
    return f"{arrow}{change} ({verdict})"


def idle_period(period: IdlePeriod, timezone: str) -> str:
    """quiet 2026-11-16 10:05 to 2026-11-18 09:30 (7 h 25 min of business time); "to
    still quiet" when no activity ended it by the period's end (or now)."""
    end = "still quiet" if period.ongoing else instant(period.end, timezone)
    return (
        f"quiet {instant(period.start, timezone)} to {end} "
        f"({duration(period.business_seconds)} of business time)"
    )


def yes_no(value: bool | None) -> str:
    return NO_DATA if value is None else ("yes" if value else "no")


def objective_value(kpi: str, value: float | None) -> str:
    """An objective's measured value in its KPI's unit."""
    if kpi.startswith(("lead_time", "recovery_time", "rollout_")):
        return duration(value)
    if kpi.endswith("ratio"):
        return figure(value, "ratio")
    return figure(value, "count")
