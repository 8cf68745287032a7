"""Team activity and idleness in business time (DESIGN sections 1.4 and 9)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from golive.contract import Event
from golive.domain.calendar import Calendar
from golive.domain.catalog import Catalog
from golive.domain.state import Folding, State, attribute_team


@dataclass(frozen=True, slots=True)
class TeamStatus:
    team: str
    open_tasks: int  # open tasks in open releases
    last_activity: datetime | None
    quiet_business_seconds: float  # business time since last activity (or first open task)
    idle_after_seconds: float

    @property
    def idle(self) -> bool:
        return self.open_tasks > 0 and self.quiet_business_seconds > self.idle_after_seconds


def team_status(state: State, team: str, catalog: Catalog, now: datetime) -> TeamStatus:
    """A team with open work in an open release and more business time than its
    `idle_after` since its last activity is idle. A team never heard from counts its
    silence from its oldest open task."""
    open_tasks = [
        t
        for t in state.tasks.values()
        if t.team == team
        and not t.is_done
        and t.release is not None
        and (r := state.releases.get(t.release)) is not None
        and r.is_open
    ]
    last_activity = last_activity_of(state, team, catalog)
    since = last_activity
    if since is None:
        since = min((t.created_at for t in open_tasks if t.created_at), default=None)
    return idle_status(team, len(open_tasks), last_activity, since, catalog, now)


def idle_status(
    team: str,
    open_tasks: int,
    last_activity: datetime | None,
    since: datetime | None,
    catalog: Catalog,
    now: datetime,
) -> TeamStatus:
    """The idle rule on plain facts: quiet business time since `since` in the team's
    calendar, against its `idle_after` (both from the catalog)."""
    policy = catalog.policy(team)
    quiet = policy.calendar.business_seconds(since, now) if since is not None else 0.0
    return TeamStatus(
        team=team,
        open_tasks=open_tasks,
        last_activity=last_activity,
        quiet_business_seconds=quiet,
        idle_after_seconds=policy.idle_after.total_seconds(),
    )


def last_activity_of(state: State, team: str, catalog: Catalog) -> datetime | None:
    """The team's latest activity: events attributed to it, and any event about its tasks
    or about rollouts of the services it owns (a bare `task.updated` names no team)."""
    known = state.teams.get(team)
    times = [known.last_activity] if known and known.last_activity else []
    times += [t.last_event_at for t in state.tasks.values() if t.team == team and t.last_event_at]
    times += [
        r.last_event_at
        for r in state.rollouts.values()
        if r.last_event_at and catalog.owner(r.service) == team
    ]
    return max(times, default=None)


def all_team_statuses(state: State, catalog: Catalog, now: datetime) -> list[TeamStatus]:
    """Every team golive knows: seen in events, owning tasks, or named in the catalog."""
    names = set(state.teams) | {t.team for t in state.tasks.values() if t.team}
    names |= set(catalog.teams) | set(catalog.service_owners.values())
    return [team_status(state, name, catalog, now) for name in sorted(names)]


# Team activity is kept per team in buckets of a quarter of an hour (store
# `team_activity`): every time zone's midnight falls on a bound, so any local day, week
# or month is whole buckets.
_BUCKET_MINUTES = 15
# A bucket as its start's UTC fields: year, month, day, hour, quarter of the hour. The
# fold counts by these, hashed as ints: a datetime key asks its zone for its offset at
# every hash, and the timedelta arithmetic that found a datetime bucket cost as much
# again, a tenth of a fold's work together (docs/performance.md, twelfth round).
_Bucket = tuple[int, int, int, int, int]


def _bucket_of(utc: datetime) -> _Bucket:
    """The bucket holding `utc`, a time in UTC."""
    return utc.year, utc.month, utc.day, utc.hour, utc.minute // _BUCKET_MINUTES


def _start_of(bucket: _Bucket) -> datetime:
    year, month, day, hour, quarter = bucket
    return datetime(year, month, day, hour, quarter * _BUCKET_MINUTES, tzinfo=UTC)


def activity_bucket(time: datetime) -> datetime:
    """The start of the bucket holding `time`, in UTC."""
    return _start_of(_bucket_of(time.astimezone(UTC)))


Buckets = dict[tuple[str, datetime], tuple[int, datetime, datetime]]


def apply_counting_activity(
    events: Iterable[Event], catalog: Catalog, state: State
) -> tuple[State, Buckets]:
    """`apply_all`, and per (team, bucket) how many events count as the team's activity,
    with the first and last event time. Each event is attributed on the state it leaves
    (its task or rollout as of that event), so the result does not depend on how events
    were cut into batches."""
    folding = ActivityFolding(state, catalog)
    folding.apply(events)
    return folding.state(), folding.buckets


class ActivityFolding:
    """`apply_counting_activity` a part of the events at a time (`state.Folding`)."""

    __slots__ = ("_counted", "_folding")

    def __init__(self, state: State, catalog: Catalog) -> None:
        counted: dict[tuple[str, _Bucket], tuple[int, datetime, datetime]] = {}

        # A closure, not a bound method: the fold would hold its folding in a cycle,
        # which only the cycle collector frees, a batch's worth of maps at a time.
        def count(event: Event, after: State) -> None:
            team = activity_team(event, after, catalog)
            if team is None:
                return
            time = event.time
            key = (team, _bucket_of(time if time.tzinfo is UTC else time.astimezone(UTC)))
            counts = counted.get(key)
            if counts is None:
                counted[key] = (1, time, time)
            else:
                n, first, last = counts
                counted[key] = (
                    n + 1,
                    time if time < first else first,
                    time if time > last else last,
                )

        self._counted = counted
        self._folding = Folding(state, catalog, after_each=count)

    def apply(self, events: Iterable[Event]) -> None:
        self._folding.apply(events)

    def state(self) -> State:
        return self._folding.state()

    @property
    def buckets(self) -> Buckets:
        """The events counted so far, by team and bucket (`activity_bucket`)."""
        return {(team, _start_of(bucket)): n for (team, bucket), n in self._counted.items()}


def activity_team(event: Event, state: State, catalog: Catalog) -> str | None:
    """The team an event counts as activity of, as `last_activity_of` sees it: its own
    attribution, else the owner of its service, else the team of the task it is about or
    the owner of the rollout's service (`state` holds that task or rollout)."""
    team = attribute_team(event, catalog)
    if team is not None:
        return team
    match event.task_or_rollout:
        case ("task", key):
            task = state.tasks.get(key)
            return task.team if task is not None and task.team else None
        case ("rollout", key):
            rollout = state.rollouts.get(key)
            return catalog.owner(rollout.service) if rollout is not None else None
    return None


@dataclass(frozen=True, slots=True)
class IdlePeriod:
    """A quiet stretch of a team with open work, longer than its `idle_after` in business
    time: quiet from `start`, idle by the rule from `idle_from`, until `end` (its next
    activity, or the end of what was observed when `ongoing`)."""

    start: datetime
    idle_from: datetime
    end: datetime
    ongoing: bool
    business_seconds: float


def idle_periods(
    quiet: Sequence[tuple[datetime, datetime, bool]],
    work: Sequence[tuple[datetime, datetime | None]],
    calendar: Calendar,
    idle_after: timedelta,
) -> list[IdlePeriod]:
    """The idle periods among quiet stretches `(from, to, ongoing)` (no activity strictly
    between the bounds), counting only the time the team had open work: a stretch is cut
    to the union of the `work` intervals `[created, done)` (`done` None: still open)."""
    open_work = _union([(s, e) for s, e in work if e is None or e > s])
    threshold = idle_after.total_seconds()
    periods = []
    for low, high, ongoing in quiet:
        for start, end in open_work:
            cut_low, cut_high = max(low, start), high if end is None else min(high, end)
            if cut_high <= cut_low:
                continue
            seconds = calendar.business_seconds(cut_low, cut_high)
            if seconds > threshold:
                periods.append(
                    IdlePeriod(
                        start=cut_low,
                        idle_from=calendar.add_business_seconds(cut_low, threshold),
                        end=cut_high,
                        ongoing=ongoing and cut_high == high,
                        business_seconds=seconds,
                    )
                )
    return periods


def _union(
    intervals: Sequence[tuple[datetime, datetime | None]],
) -> list[tuple[datetime, datetime | None]]:
    """Overlapping or touching intervals merged, in order; None is an open end."""
    merged: list[tuple[datetime, datetime | None]] = []
    for start, end in sorted(intervals, key=lambda i: i[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                merged[-1] = (
                    last_start,
                    None if end is None or last_end is None else max(last_end, end),
                )
                continue
        merged.append((start, end))
    return merged
