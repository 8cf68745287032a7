"""The KPI snapshot the leader refreshes and `/metrics` serves: plain values, no I/O.

Every field is already a metric value; the collector only names and labels them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Histogram buckets (seconds). Downtime starts at 0 so that "no downtime" is a bucket.
ROLLOUT_DURATION_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
ROLLOUT_DOWNTIME_BUCKETS = (0.0, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


@dataclass(frozen=True, slots=True)
class DoraRow:
    service: str
    environment: str
    window: str  # "7d" or "30d"
    window_days: float
    deployments: int
    failed_deployments: int
    rework_deployments: int
    lead_time_p50: float | None
    lead_time_p90: float | None
    recovery_time_p50: float | None
    recovery_time_p90: float | None

    @property
    def deployment_frequency_per_day(self) -> float:
        return self.deployments / self.window_days

    @property
    def change_failure_ratio(self) -> float | None:
        return self.failed_deployments / self.deployments if self.deployments else None

    @property
    def rework_ratio(self) -> float | None:
        return self.rework_deployments / self.deployments if self.deployments else None


@dataclass(frozen=True, slots=True)
class DeploymentCount:
    service: str
    environment: str
    succeeded: int  # deployments that rolled out
    failed: int  # deployment attempts whose rollout failed or was rolled back


@dataclass(frozen=True, slots=True)
class Histogram:
    service: str
    environment: str
    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count), +Inf excluded
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class ObjectiveValue:
    objective: str
    kpi: str
    value: float | None
    met: bool | None


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    release: str
    target: datetime | None
    progress: float | None
    tasks: dict[str, int]  # by status
    forecast_p50: datetime | None
    forecast_p85: datetime | None
    forecast_basis: str
    at_risk: bool | None
    late: bool
    objectives: tuple[ObjectiveValue, ...] = ()


@dataclass(frozen=True, slots=True)
class TeamRow:
    team: str
    last_activity: datetime | None
    open_tasks: int
    idle: bool
    quiet_business_seconds: float = 0.0
    idle_after_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RolloutRow:
    """The latest rollout of a (service, environment), if in progress or recent."""

    rollout: str
    service: str
    environment: str
    to_version: str | None
    started_at: datetime
    last_progress: datetime
    finished_at: datetime | None
    outcome: str | None
    downtime: float  # so far, for one in progress
    degraded: float


@dataclass(frozen=True, slots=True)
class OpenRecovery:
    """A (service, environment) failed and not restored yet."""

    service: str
    environment: str
    started_at: datetime
    cause: str


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    taken_at: datetime
    dora: tuple[DoraRow, ...] = ()
    deployments: tuple[DeploymentCount, ...] = ()
    rollout_duration: tuple[Histogram, ...] = ()
    rollout_downtime: tuple[Histogram, ...] = ()
    rollout_degraded: tuple[Histogram, ...] = ()
    rollouts_in_progress: int = 0
    releases: tuple[ReleaseRow, ...] = ()
    overdue: dict[tuple[str, str], int] = field(default_factory=dict)  # (release, team)
    teams: tuple[TeamRow, ...] = ()
    rollouts: tuple[RolloutRow, ...] = ()
    open_recoveries: tuple[OpenRecovery, ...] = ()
    alerts_firing: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, severity)
