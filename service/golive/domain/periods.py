"""Report periods: a local day, an ISO week or a calendar month in the report time zone.

A period is half-open, [start, end), with both bounds the local midnights that begin and
end it, converted to UTC. A period spanning a DST switch is therefore 23 or 25 hours
long (a day) or one hour shorter or longer (a week or month): it is what the people
reading the report call "Monday" or "November". Local midnight is read with zoneinfo's
default (PEP 495 `fold=0`), as in `domain.calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PeriodKind = Literal["daily", "weekly", "monthly"]
PERIOD_KINDS: tuple[PeriodKind, ...] = get_args(PeriodKind)


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    first_day: date  # local date the period begins on
    timezone: str

    @property
    def last_day(self) -> date:
        return self.following().first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.timezone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.timezone)

    @property
    def label(self) -> str:
        """How people name it: 2026-11-23, 2026-W48, 2026-11."""
        if self.kind == "daily":
            return self.first_day.isoformat()
        if self.kind == "weekly":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day.year}-{self.first_day.month:02d}"

    def previous(self) -> Period:
        return period_containing(self.kind, self.first_day - timedelta(days=1), self.timezone)

    def following(self) -> Period:
        day = self.first_day
        if self.kind == "daily":
            return Period(self.kind, day + timedelta(days=1), self.timezone)
        if self.kind == "weekly":
            return Period(self.kind, day + timedelta(days=7), self.timezone)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return Period(self.kind, date(year, month, 1), self.timezone)

    def is_complete(self, now: datetime) -> bool:
        return self.end <= now


def period_containing(kind: PeriodKind, day: date, timezone: str) -> Period:
    """The period of `kind` that the local date `day` belongs to."""
    if kind == "daily":
        first = day
    elif kind == "weekly":
        first = day - timedelta(days=day.weekday())  # ISO weeks begin on Monday
    elif kind == "monthly":
        first = day.replace(day=1)
    else:
        raise ValueError(f"unknown period {kind!r}: use one of {', '.join(PERIOD_KINDS)}")
    return Period(kind, first, timezone)


def last_complete(kind: PeriodKind, now: datetime, timezone: str) -> Period:
    """The most recent period of `kind` that has ended at `now` (the default report)."""
    today = _require_aware(now).astimezone(ZoneInfo(timezone)).date()
    return period_containing(kind, today, timezone).previous()


def due_periods(
    kind: PeriodKind,
    latest_start: datetime | None,
    now: datetime,
    timezone: str,
    limit: int,
) -> list[Period]:
    """The periods of `kind` to publish at `now`, oldest first, at most `limit`: those
    ended since the latest published one (whose start is `latest_start`), or only the
    last complete one when none was published yet (no backfill of older history)."""
    target = last_complete(kind, now, timezone)
    if latest_start is None:
        return [target]
    day = latest_start.astimezone(ZoneInfo(timezone)).date()
    period = period_containing(kind, day, timezone).following()
    due: list[Period] = []
    while period.start <= target.start and len(due) < limit:
        due.append(period)
        period = period.following()
    return due


def require_timezone(name: str) -> str:
    """`name` if it is an IANA time zone; else ValueError saying what to give instead."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris"
        ) from None
    return name


def report_period(kind: PeriodKind, at: date | None, now: datetime, timezone: str) -> Period:
    """The period a report is asked for: the one containing the local date `at`, else the
    last complete one at `now`."""
    require_timezone(timezone)
    if at is not None and not FIRST_REPORT_DAY <= at <= LAST_REPORT_DAY:
        # A report also covers the period before; date arithmetic ends at years 1 and 9999.
        raise ValueError(
            f"date {at.isoformat()} is out of range: reports cover "
            f"{FIRST_REPORT_DAY.isoformat()} to {LAST_REPORT_DAY.isoformat()}"
        )
    return period_containing(kind, at, timezone) if at else last_complete(kind, now, timezone)


FIRST_REPORT_DAY = date(1970, 1, 1)
LAST_REPORT_DAY = date(9998, 12, 31)


def local_midnight(day: date, timezone: str) -> datetime:
    """The instant (UTC) the local date `day` begins in `timezone`."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {instant!r}")
    return instant
