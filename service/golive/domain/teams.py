"""Team activity and idleness in business time (DESIGN sections 1.4 and 9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from golive.domain.catalog import Catalog
from golive.domain.state import State


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
