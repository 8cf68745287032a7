"""Business time of a team: which local days and hours count, and how much lies between instants.

A `Calendar` names a team's time zone, working weekdays, daily work hours (local wall
clock) and holidays. Everything here is pure: instants are passed in and must be
timezone-aware; results are aware UTC datetimes or plain local dates.

How a day's work hours become real time: the day's start and end wall-clock times are
converted with zoneinfo's default reading (PEP 495 ``fold=0``): an ambiguous time (clocks
going back) is its first occurrence, and a time skipped by clocks going forward is read
with the offset in force before the switch. The window is then cut to the local day
itself. Business time is the real elapsed time inside these windows, so a window that
spans a DST switch counts its real length (01:00-05:00 is 3 h on a spring-forward night
and 5 h on a fall-back night).
"""

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta()
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
# Days between the edges of a long span are summed this many at a time, arithmetically.
_BLOCK = timedelta(days=27)


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a team works. Validated on construction; hashable and immutable."""

    timezone: str = "UTC"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    workhours: tuple[time, time] = (time(9, 0), time(18, 0))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            _zone(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {self.timezone!r}: use an IANA name such as 'Europe/Paris'"
            ) from exc
        workdays = frozenset(self.workdays)
        if not workdays:
            raise ValueError("workdays is empty: a calendar needs at least one working weekday")
        if not workdays <= set(range(7)):
            raise ValueError(f"workdays must be weekday numbers 0 (Monday) to 6, got {workdays}")
        start, end = self.workhours
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("workhours are local wall-clock times and must not carry a tzinfo")
        if start >= end:
            raise ValueError(f"workhours must start before they end, got {start} to {end}")
        holidays = frozenset(self.holidays)
        if any(isinstance(day, datetime) for day in holidays):
            raise ValueError("holidays must be dates, not datetimes")
        # Frozen, so normalising a plain set given by a caller goes through object.
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "holidays", holidays)

    def local_date(self, instant: datetime) -> date:
        """The date the team's wall clock shows at `instant`."""
        return _require_aware(instant, "instant").astimezone(_zone(self.timezone)).date()

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is not a holiday."""
        return day.weekday() in self.workdays and day not in self.holidays

    def end_of_business_day(self, day: date) -> datetime:
        """The end of the work hours of the local date `day`, in UTC."""
        return _EPOCH + self._window(day)[1]

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Real seconds inside work hours on business days from start to end (0 if end <= start)."""
        low = _require_aware(start, "start") - _EPOCH
        high = _require_aware(end, "end") - _EPOCH
        if high <= low:
            return 0.0
        first, last = self.local_date(start), self.local_date(end)
        # The windows of the end days may be cut by start or end, and so may their
        # neighbours' where a DST switch at midnight blurs which date an instant is on.
        # The days between count whole.
        if last - first <= 4 * _ONE_DAY:
            edges = _days(first - _ONE_DAY, last + _ONE_DAY)
            total = _ZERO
        else:
            edges = _near(first) + _near(last)
            total = self._whole_days(first + 2 * _ONE_DAY, last - 2 * _ONE_DAY)
        for day in edges:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                total += max(_ZERO, min(closes, high) - max(opens, low))
        return total.total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant (UTC) when `seconds` of business time have passed since start."""
        low = _require_aware(start, "start") - _EPOCH
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds}")
        remaining = timedelta(seconds=seconds)
        if remaining == _ZERO:
            return start.astimezone(UTC)
        first = self.local_date(start)
        found, remaining = self._spend(first - _ONE_DAY, first + _ONE_DAY, low, remaining)
        day = first + 2 * _ONE_DAY
        while found is None:
            # Skip whole blocks arithmetically, then walk the block where the time runs out.
            block_end = day + _BLOCK
            whole = self._whole_days(day, block_end)
            if whole < remaining:
                remaining -= whole
            else:
                found, remaining = self._spend(day, block_end, low, remaining)
            day = block_end + _ONE_DAY
        return found

    def business_days_before(self, instant: datetime, count: int) -> list[date]:
        """The `count` business days strictly before the local date of `instant`, oldest first."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        day = self.local_date(instant)
        found: list[date] = []
        while len(found) < count:
            day -= _ONE_DAY
            if self.is_business_day(day):
                found.append(day)
        found.reverse()
        return found

    def business_days_from(self, instant: datetime) -> Iterator[date]:
        """Business days from the local date of `instant` (if work hours are not over yet) on.

        Infinite. Validation happens here, not on the first ``next()``.
        """
        day = self.local_date(instant)
        if not self.is_business_day(day) or instant >= self.end_of_business_day(day):
            day += _ONE_DAY
        return self._business_days_on_or_after(day)

    def _business_days_on_or_after(self, day: date) -> Iterator[date]:
        while True:
            if self.is_business_day(day):
                yield day
            day += _ONE_DAY

    def _window(self, day: date) -> tuple[timedelta, timedelta]:
        """The day's work hours as real instants (offsets from the epoch); may be empty."""
        start, end = self.workhours
        return _real_window(_zone(self.timezone), start, end, day)

    def _whole_days(self, first: date, last: date) -> timedelta:
        """Business time of the whole windows of the days first..last (inclusive)."""
        if last < first:
            return _ZERO
        weeks, rest = divmod((last - first).days + 1, 7)
        weekday = first.weekday()
        count = weeks * len(self.workdays) + sum(
            (weekday + i) % 7 in self.workdays for i in range(rest)
        )
        holidays = _sorted_workday_holidays(self.holidays, self.workdays)
        count -= bisect_right(holidays, last) - bisect_left(holidays, first)
        start, end = self.workhours
        total = _wall_length(start, end) * count
        for year in range(first.year, last.year + 1):
            for day, extra in _irregular_days(self.timezone, start, end, year):
                if first <= day <= last and self.is_business_day(day):
                    total += extra
        return total

    def _spend(
        self, first: date, last: date, low: timedelta, remaining: timedelta
    ) -> tuple[datetime | None, timedelta]:
        """Walk the windows of first..last after `low`; return where `remaining` runs out, if so."""
        day = first
        while day <= last:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                opens = max(opens, low)
                if closes > opens:
                    if remaining <= closes - opens:
                        return _EPOCH + opens + remaining, _ZERO
                    remaining -= closes - opens
            day += _ONE_DAY
        return None, remaining


def parse_workdays(names: Sequence[str]) -> frozenset[int]:
    """Weekday numbers (Monday=0) from names "mon".."sun", in any case."""
    if isinstance(names, str):
        raise ValueError(f"workdays must be a list of day names, got the single string {names!r}")
    days: set[int] = set()
    for name in names:
        key = name.strip().lower()
        if key not in _DAY_NAMES:
            raise ValueError(f"unknown workday {name!r}: use {', '.join(_DAY_NAMES)}")
        days.add(_DAY_NAMES.index(key))
    return frozenset(days)


def parse_clock(text: str) -> time:
    """A local wall-clock time from "HH:MM" (00:00 to 23:59)."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid clock time {text!r}: expected HH:MM, e.g. 09:00")
    hour, minute = int(match[1]), int(match[2])
    if (hour, minute) == (24, 0):
        # A `time` cannot hold 24:00, and reading it as 23:59:59.999999 would silently
        # drop a microsecond a day; a work day has to end by 23:59.
        raise ValueError("invalid clock time '24:00': work hours must end by 23:59")
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid clock time {text!r}: hours run 00-23 and minutes 00-59")
    return time(hour, minute)


def _require_aware(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {instant!r}")
    return instant


def _days(first: date, last: date) -> list[date]:
    return [first + i * _ONE_DAY for i in range((last - first).days + 1)]


def _near(day: date) -> list[date]:
    return [day - _ONE_DAY, day, day + _ONE_DAY]


def _instant(day: date, clock: time, zone: ZoneInfo) -> timedelta:
    return datetime.combine(day, clock, tzinfo=zone) - _EPOCH


def _real_window(zone: ZoneInfo, start: time, end: time, day: date) -> tuple[timedelta, timedelta]:
    # Cutting to the local day keeps a day from counting time that belongs to another:
    # a day the zone skipped entirely (Pacific/Apia, 2011-12-30) gets an empty window.
    opens = max(_instant(day, start, zone), _instant(day, _MIDNIGHT, zone))
    closes = min(_instant(day, end, zone), _instant(day + _ONE_DAY, _MIDNIGHT, zone))
    return opens, closes


def _wall_length(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


@cache
def _zone(key: str) -> ZoneInfo:
    # ZoneInfo itself only keeps the 8 most recent zones alive; with teams spread over
    # more zones, it would read tzdata again and again. There are a few hundred keys.
    return ZoneInfo(key)


@lru_cache(maxsize=1024)
def _sorted_workday_holidays(
    holidays: frozenset[date], workdays: frozenset[int]
) -> tuple[date, ...]:
    # Memoised: a long add_business_seconds counts holidays once per block.
    return tuple(sorted(day for day in holidays if day.weekday() in workdays))


@lru_cache(maxsize=1024)
def _irregular_days(
    timezone: str, start: time, end: time, year: int
) -> tuple[tuple[date, timedelta], ...]:
    """Days of `year` whose window is not its wall-clock length, with the difference.

    Memoised because it is the only per-day scan in a long span, and teams share zones
    and work hours: it runs once per (zone, hours, year), not once per call.
    """
    zone = _zone(timezone)
    nominal = _wall_length(start, end)
    irregular = []
    for day in _days(date(year, 1, 1), date(year, 12, 31)):
        opens, closes = _real_window(zone, start, end, day)
        length = max(_ZERO, closes - opens)
        if length != nominal:
            irregular.append((day, length - nominal))
    return tuple(irregular)


DEFAULT_CALENDAR = Calendar()
