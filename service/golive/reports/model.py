"""What a report holds: plain values, computed by `store.reports`, rendered by the
formats. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from golive.domain.periods import Period
from golive.domain.snapshot import ReleaseRow
from golive.domain.teams import IdlePeriod
from golive.domain.trends import Trend


@dataclass(frozen=True, slots=True)
class TeamTasks:
    team: str  # "" = tasks without a team
    done: int  # completed in the period
    open: int
    overdue: int  # open and past due at the period's end (or now, if it has not ended)
    blocked: int


@dataclass(frozen=True, slots=True)
class CorrectiveMeasure:
    task: str
    title: str | None
    owner: str | None
    team: str | None
    release: str | None
    status: str
    created_at: datetime | None
    due: datetime | None

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.created_at is None else (now - self.created_at).total_seconds()


@dataclass(frozen=True, slots=True)
class RolloutCost:
    rollout: str
    service: str
    environment: str
    version: str | None
    started_at: datetime
    finished_at: datetime | None  # None: still in progress (cost so far)
    outcome: str | None
    downtime_s: float
    degraded_s: float


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: str
    service: str | None
    environment: str | None
    description: str | None
    detected_at: datetime | None
    resolved_at: datetime | None

    @property
    def recovery_s(self) -> float | None:
        if self.detected_at is None or self.resolved_at is None:
            return None
        return (self.resolved_at - self.detected_at).total_seconds()


@dataclass(frozen=True, slots=True)
class AlertRow:
    alertname: str
    severity: str
    labels: dict[str, str]
    summary: str | None
    starts_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamActivity:
    team: str
    events: int  # events counted as the team's activity in the period
    last_activity: datetime | None  # the latest before the period's end (or now)
    open_tasks: int  # open tasks in open releases, now
    idle_periods: tuple[IdlePeriod, ...]  # ending in the period (or still going at its end)

    @property
    def idle(self) -> bool:
        """Idle at the period's end (or now): an idle period is still going."""
        return any(p.ongoing for p in self.idle_periods)


@dataclass(frozen=True, slots=True)
class BurnUp:
    """A release's tasks done by the end of each day of the period, against its scope."""

    release: str
    scope: int  # tasks in the release now
    done_by_day: tuple[tuple[date, int], ...]


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    generated_at: datetime
    release: str | None  # the report is about one release only
    headline: tuple[Trend, ...]
    releases: tuple[ReleaseRow, ...]
    tasks_by_team: tuple[TeamTasks, ...]
    corrective_measures: tuple[CorrectiveMeasure, ...]
    rollouts: tuple[RolloutCost, ...]  # with downtime or degraded time
    incidents: tuple[IncidentRow, ...]
    alerts_fired: tuple[AlertRow, ...]
    alerts_resolved: tuple[AlertRow, ...]
    teams: tuple[TeamActivity, ...]
    deployments_by_day: tuple[tuple[date, int], ...]
    burn_up: tuple[BurnUp, ...]

    @property
    def complete(self) -> bool:
        """Whether the period had ended when the report was generated."""
        return self.period.is_complete(self.generated_at)
