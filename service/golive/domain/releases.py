"""Release progress, schedule, forecast, risk and objectives (DESIGN sections 1 and 9)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from golive.contract.content import Objective, ObjectiveKpi, TaskStatus
from golive.domain.catalog import Catalog
from golive.domain.delivery import Deployment, Recovery, deliveries
from golive.domain.dora import figures, lead_times
from golive.domain.forecast import Forecast, daily_throughput, forecast_completion
from golive.domain.model import Release, Task
from golive.domain.rollouts import Availability, availability
from golive.domain.state import State

TASK_STATUSES: tuple[TaskStatus, ...] = ("todo", "in_progress", "blocked", "done")


def release_tasks(state: State, release_id: str) -> list[Task]:
    return [t for t in state.tasks.values() if t.release == release_id]


def release_teams(state: State, release: Release) -> list[str]:
    """The teams named by the release plus those owning its tasks."""
    teams = set(release.teams) | {t.team for t in release_tasks(state, release.id) if t.team}
    return sorted(teams)


@dataclass(frozen=True, slots=True)
class Progress:
    release_id: str
    tasks_by_status: dict[TaskStatus, int]
    overdue_by_team: dict[str, int]  # team "" = unattributed

    @property
    def total(self) -> int:
        return sum(self.tasks_by_status.values())

    @property
    def done(self) -> int:
        return self.tasks_by_status["done"]

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def ratio(self) -> float | None:
        """Done / total; None for a release with no task yet."""
        return self.done / self.total if self.total else None


def progress(state: State, release_id: str, now: datetime) -> Progress:
    tasks = release_tasks(state, release_id)
    counts = Counter(t.status for t in tasks)
    overdue = Counter(t.team or "" for t in tasks if t.is_overdue(now))
    return Progress(
        release_id,
        {status: counts.get(status, 0) for status in TASK_STATUSES},
        dict(sorted(overdue.items())),
    )


def forecast(state: State, release: Release, catalog: Catalog, now: datetime) -> Forecast:
    """Monte Carlo completion forecast from the release's teams' recent throughput.

    Throughput counts every task those teams finished (in any release) per business day
    of the catalog's default calendar; remaining work is the release's open tasks.
    """
    teams = set(release_teams(state, release))
    done_at = [t.done_at for t in state.tasks.values() if t.team in teams and t.done_at is not None]
    calendar = catalog.defaults.calendar
    throughput = daily_throughput(done_at, calendar, now)
    return forecast_completion(
        progress(state, release.id, now).remaining, throughput, calendar, now
    )


def at_risk(release: Release, prediction: Forecast) -> bool | None:
    """P85 completion after the target date; None when it cannot be told."""
    if not release.is_open or release.target_date is None:
        return None
    if prediction.basis == "complete":
        return False
    if prediction.basis == "beyond_horizon":
        return True
    if prediction.p85 is None:
        return None
    return prediction.p85 > release.target_date


def late(release: Release, remaining: int, now: datetime) -> bool:
    """Open, past its target date, with work left."""
    return (
        release.is_open
        and release.target_date is not None
        and now > release.target_date
        and remaining > 0
    )


def is_late(state: State, release: Release, now: datetime) -> bool:
    return late(release, progress(state, release.id, now).remaining, now)


def schedule_slip(release: Release) -> timedelta | None:
    """How far the target date moved since the first announced one."""
    if release.target_date is None or release.first_target is None:
        return None
    return release.target_date - release.first_target


# --- objectives -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObjectiveStatus:
    objective: Objective
    value: float | None  # None: no data yet
    met: bool | None


@dataclass(frozen=True, slots=True)
class ReleaseWindow:
    """The span a release's objectives are measured over: planned -> closed (or now)."""

    start: datetime
    end: datetime

    @staticmethod
    def of(release: Release, now: datetime) -> ReleaseWindow:
        end = (
            release.closed_at if release.closed_at is not None and release.closed_at < now else now
        )
        return ReleaseWindow(release.planned_at or end, end)

    @property
    def length(self) -> timedelta:
        return max(self.end - self.start, timedelta(days=1))


def in_scope(release: Release, service: str | None, environment: str | None) -> bool:
    """Whether a service in an environment is one the release's objectives measure."""
    return service in release.services and release.environment in (None, environment)


def objective_values(
    *,
    deployments: Sequence[Deployment],
    recoveries: Sequence[Recovery],
    shipped: Sequence[tuple[datetime, float]],
    rollouts: Sequence[Availability],
    progress: Progress,
    window: ReleaseWindow,
) -> dict[ObjectiveKpi, float | None]:
    """Every objective KPI from the release's in-scope facts (durations in seconds)."""
    dora = figures(
        deployments,
        recoveries,
        shipped,
        service="*",
        environment="*",
        window=window.length,
        now=window.end,
    )
    has_deployments = dora.deployments > 0
    return {
        "change_failure_ratio": dora.change_failure_ratio,
        "deployment_frequency": dora.deployment_frequency_per_day if has_deployments else None,
        "deployments": float(dora.deployments),
        "failed_deployments": float(dora.failed_deployments),
        "lead_time_p50": dora.lead_time(0.5),
        "lead_time_p90": dora.lead_time(0.9),
        "recovery_time_p50": dora.recovery_time(0.5),
        "recovery_time_p90": dora.recovery_time(0.9),
        "rework_ratio": dora.rework_ratio,
        "rollout_downtime_max": max((a.downtime for a in rollouts), default=None),
        "rollout_downtime_total": sum(a.downtime for a in rollouts) if rollouts else None,
        "rollout_degraded_max": max((a.degraded for a in rollouts), default=None),
        "tasks_done_ratio": progress.ratio,
        "tasks_overdue": float(sum(progress.overdue_by_team.values())),
    }


def release_kpis(state: State, release: Release, now: datetime) -> dict[ObjectiveKpi, float | None]:
    """Every objective KPI of the release, over its life so far (planned -> closed or now).

    Delivery KPIs cover the release's services in its environment (every environment
    when it names none); durations are in seconds, frequency per day.
    """
    window = ReleaseWindow.of(release, now)
    deployments: list[Deployment] = []
    recoveries: list[Recovery] = []
    for (service, environment), delivery in deliveries(state).items():
        if in_scope(release, service, environment):
            deployments += delivery.deployments
            recoveries += delivery.recoveries
    rollouts = [
        a
        for r in state.rollouts.values()
        if in_scope(release, r.service, r.environment)
        and r.started_at is not None
        and window.start <= r.started_at <= window.end
        and (a := availability(r, window.end)) is not None
    ]
    return objective_values(
        deployments=deployments,
        recoveries=recoveries,
        shipped=list(lead_times(state, deployments).values()),
        rollouts=rollouts,
        progress=progress(state, release.id, now),
        window=window,
    )


def evaluate(objective: Objective, value: float | None) -> ObjectiveStatus:
    """Met or not by `op`; neither while the KPI has no data."""
    met = None
    if value is not None:
        met = value <= objective.target if objective.op == "<=" else value >= objective.target
    return ObjectiveStatus(objective, value, met)


def objectives(state: State, release: Release, now: datetime) -> list[ObjectiveStatus]:
    kpis = release_kpis(state, release, now)
    return [evaluate(objective, kpis[objective.kpi]) for objective in release.objectives]
