"""Rollouts of Amazon ECS services, derived from what ECS reports through EventBridge.

ECS reports a deployment's life (`ECS Deployment State Change`) and each task's state
(`ECS Task State Change`) separately: no event says how many instances of each version
are serving. golive keeps, per ECS service, a *fleet*: the deployments it has seen and
every state report of the service's tasks. Each rollout of the service is then derived
from the fleet as a whole, so the result does not depend on the order events arrive in.

- A rollout is a deployment ECS announced (`SERVICE_DEPLOYMENT_IN_PROGRESS`). It starts
  then and finishes at `SERVICE_DEPLOYMENT_COMPLETED` (succeeded) or `_FAILED` (failed);
  with no deployment event to close it, at the service's next `SERVICE_STEADY_STATE`
  (succeeded) or when a newer deployment replaces it (failed).
- A circuit-breaker rollback is a deployment whose reason reads "rolling back to
  deploymentId X". It is not a rollout of its own: the deployment it undoes finishes
  `rolledback` when the rollback completes, so the rollout's window covers the whole
  time the service was not on a good version.
- *New* instances are the deployment's tasks; *old* ones are every other task of the
  service, the rollback's included (they run the restored version). A task is ready
  while it is `RUNNING`, meant to stay so (`desiredStatus` RUNNING: ECS deregisters a
  task from its load balancer once told to stop), and healthy: `HEALTHY`, or `UNKNOWN`
  for a task with no health check (one that never reports `HEALTHY` or `UNHEALTHY`).
  A task first reported already running counts as ready from its `startedAt`: golive may
  have started listening after the old version was deployed.
- `desired` is the number of ready instances when the rollout starts (ECS's events do not
  carry the service's desired count). A first deployment, with nothing ready before it,
  has no downtime or degraded time: there was no service to interrupt. Its `desired` is
  the most instances it had ready.
- ECS reports nothing of a task that does not change. golive knows every instance of a
  service once it has followed one of its deployments to completion (the fleet keeps the
  running tasks), and a rollout that succeeds reports every old task as it replaces it.
  A rollout that fails or is still running, of a service golive has not followed before,
  may have old instances golive never heard of: it gets no availability figures (no
  samples, `desired` unknown) rather than a downtime that did not happen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from golive.contract.content import RolloutOutcome
from golive.contract.ecs import (
    ECS_SOURCE,
    EcsDeploymentStateChange,
    EcsServiceAction,
    EcsTaskStateChange,
    rollback_target,
    task_definition_version,
)
from golive.contract.event import Event
from golive.domain.model import Rollout, Sample, earliest, latest

# How many deployments a fleet remembers (and so how many rollouts it re-derives).
KEEP_DEPLOYMENTS = 5
# Stopped tasks a fleet keeps at most, whatever their age.
MAX_STOPPED_TASKS = 200
_NEVER = datetime.min.replace(tzinfo=UTC)

RUNNING = "RUNNING"
STOPPED = "STOPPED"
HEALTH_REPORTED = frozenset({"HEALTHY", "UNHEALTHY"})
BEFORE_RUNNING = frozenset({"PROVISIONING", "PENDING", "ACTIVATING"})


@dataclass(frozen=True, slots=True, order=True)
class TaskState:
    """One report of a task's state; reports sort by time, then ECS's change counter."""

    time: datetime
    version: int
    key: tuple[str, str]  # the event's (source, id)
    last_status: str = field(compare=False)
    desired_status: str | None = field(default=None, compare=False)
    health: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FleetTask:
    arn: str
    deployment: str | None = None  # `startedBy`: the deployment that started it
    version: str | None = None  # task definition `family:revision`
    started_at: datetime | None = None  # RUNNING since (ECS's `startedAt`)
    states: tuple[TaskState, ...] = ()

    def readiness(self) -> list[tuple[datetime, bool, tuple[str, str]]]:
        """(time, ready from then on, report key) at each change of the task's readiness."""
        checked = any(s.health in HEALTH_REPORTED for s in self.states)
        changes: list[tuple[datetime, bool, tuple[str, str]]] = []
        ready = False
        first = self.states[0] if self.states else None
        if (
            first is not None
            and first.last_status not in BEFORE_RUNNING
            and self.started_at is not None
            and self.started_at < first.time
        ):
            # First reported already running: golive started listening after it started.
            ready = True
            changes.append((self.started_at, True, (ECS_SOURCE, f"{self.arn} running")))
        for state in self.states:
            now = _ready(state, checked)
            if now != ready:
                changes.append((state.time, now, state.key))
                ready = now
        return changes

    @property
    def stopped_at(self) -> datetime | None:
        last = self.states[-1] if self.states else None
        return last.time if last is not None and last.last_status == STOPPED else None


def _ready(state: TaskState, health_checked: bool) -> bool:
    if state.last_status != RUNNING or state.desired_status not in (None, RUNNING):
        return False
    return state.health == "HEALTHY" or (not health_checked and state.health != "UNHEALTHY")


@dataclass(frozen=True, slots=True)
class FleetDeployment:
    id: str
    in_progress_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    rollback_to: str | None = None  # set on a circuit-breaker rollback deployment
    last_event_at: datetime | None = None

    @property
    def ended_at(self) -> datetime | None:
        return self.completed_at or self.failed_at


@dataclass(frozen=True, slots=True)
class Fleet:
    """What golive knows of one ECS service; `id` is its long ARN."""

    id: str
    cluster: str
    service: str
    deployments: Mapping[str, FleetDeployment] = field(default_factory=dict)
    tasks: Mapping[str, FleetTask] = field(default_factory=dict)
    steady_at: tuple[datetime, ...] = ()  # SERVICE_STEADY_STATE reports, sorted
    # The first completion of a deployment of the service golive saw: from then on it
    # knows every instance (the fleet keeps the running tasks).
    followed_since: datetime | None = None
    last_event_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the catalog says of the service (`domain.catalog`)."""

    service: str
    environment: str
    min_healthy_percent: float = 100.0


# --- folding events into the fleet ------------------------------------------------------------


def apply_event(fleet: Fleet, event: Event) -> Fleet:
    """The fleet after one of its service's ECS events."""
    c = event.content
    if isinstance(c, EcsDeploymentStateChange):
        fleet = _deployment(fleet, c, event.time)
    elif isinstance(c, EcsTaskStateChange):
        fleet = _task(fleet, c, event)
    elif _is_steady_state(c) and event.time not in fleet.steady_at:
        fleet = replace(fleet, steady_at=tuple(sorted((*fleet.steady_at, event.time))))
    fleet = replace(fleet, last_event_at=latest(fleet.last_event_at, event.time))
    return _forget_old(fleet)


def _is_steady_state(content: object) -> bool:
    return isinstance(content, EcsServiceAction) and content.event_name == "SERVICE_STEADY_STATE"


def _deployment(fleet: Fleet, c: EcsDeploymentStateChange, at: datetime) -> Fleet:
    d = fleet.deployments.get(c.deployment_id) or FleetDeployment(c.deployment_id)
    if c.event_name == "SERVICE_DEPLOYMENT_IN_PROGRESS":
        d = replace(
            d,
            in_progress_at=earliest(d.in_progress_at, at),
            rollback_to=rollback_target(c.reason) or d.rollback_to,
        )
    elif c.event_name == "SERVICE_DEPLOYMENT_COMPLETED":
        d = replace(d, completed_at=earliest(d.completed_at, at))
        fleet = replace(fleet, followed_since=earliest(fleet.followed_since, at))
    elif c.event_name == "SERVICE_DEPLOYMENT_FAILED":
        d = replace(d, failed_at=earliest(d.failed_at, at))
    d = replace(d, last_event_at=latest(d.last_event_at, at))
    return replace(fleet, deployments={**fleet.deployments, d.id: d})


def _task(fleet: Fleet, c: EcsTaskStateChange, event: Event) -> Fleet:
    task = fleet.tasks.get(c.task_arn) or FleetTask(c.task_arn)
    state = TaskState(
        event.time, c.version or 0, event.key, c.last_status, c.desired_status, _health(c)
    )
    if state not in task.states:
        task = replace(task, states=tuple(sorted((*task.states, state))))
    task = replace(
        task,
        deployment=c.started_by or task.deployment,
        version=task_definition_version(c.task_definition_arn),
        started_at=c.started_at or task.started_at,
    )
    return replace(fleet, tasks={**fleet.tasks, task.arn: task})


def _health(c: EcsTaskStateChange) -> str | None:
    """The task's health, or its containers' when ECS leaves it out."""
    if c.health_status is not None:
        return c.health_status
    container_health = {x.health_status for x in c.containers if x.health_status}
    if "UNHEALTHY" in container_health:
        return "UNHEALTHY"
    if container_health == {"HEALTHY"}:
        return "HEALTHY"
    return "UNKNOWN" if container_health else None


def _forget_old(fleet: Fleet) -> Fleet:
    """Keep the last `KEEP_DEPLOYMENTS` deployments, and the tasks and steady-state reports
    that can still matter to their rollouts: the fleet stays small.

    Only a full fleet forgets by time: from then on the oldest remembered start only
    moves forward, whatever order events arrive in, so what is forgotten could not have
    mattered (a task stopped, or a report made, before every remembered rollout began)."""
    if len(fleet.deployments) >= KEEP_DEPLOYMENTS:
        kept = sorted(fleet.deployments.values(), key=_rank)[-KEEP_DEPLOYMENTS:]
        cutoff = min(_rank(d)[0] for d in kept)
        fleet = replace(
            fleet,
            deployments={d.id: d for d in kept},
            tasks={
                arn: t
                for arn, t in fleet.tasks.items()
                if t.stopped_at is None or t.stopped_at >= cutoff
            },
            steady_at=tuple(t for t in fleet.steady_at if t >= cutoff),
        )
    by_stop = sorted((t.stopped_at, t.arn) for t in fleet.tasks.values() if t.stopped_at)
    if len(by_stop) > MAX_STOPPED_TASKS:  # tasks replaced again and again between deployments
        dropped = {arn for _, arn in by_stop[:-MAX_STOPPED_TASKS]}
        fleet = replace(fleet, tasks={k: t for k, t in fleet.tasks.items() if k not in dropped})
    return fleet


def _rank(d: FleetDeployment) -> tuple[datetime, str]:
    """Newer deployments rank higher: by start, else by the last thing heard of them."""
    return (d.in_progress_at or d.last_event_at or _NEVER, d.id)


# --- rollouts ---------------------------------------------------------------------------------


def rollout_ids(fleet: Fleet) -> set[str]:
    """The deployments of the fleet that are rollouts (every rollout `rollouts` derives)."""
    return {d.id for d in fleet.deployments.values() if d.rollback_to is None}


def rollouts(fleet: Fleet, settings: ServiceSettings) -> dict[str, Rollout]:
    """Every rollout of the fleet's remembered deployments, derived from the whole fleet."""
    started = sorted(
        (d for d in fleet.deployments.values() if d.in_progress_at is not None),
        key=lambda d: (d.in_progress_at, d.id),
    )
    forward = [d for d in started if d.rollback_to is None]
    undone_by = _rollbacks(started)
    derived: dict[str, Rollout] = {}
    for i, d in enumerate(forward):
        superseded_at = forward[i + 1].in_progress_at if i + 1 < len(forward) else None
        derived[d.id] = _rollout(fleet, d, undone_by.get(d.id), superseded_at, settings)
    return derived


def _rollbacks(started: list[FleetDeployment]) -> dict[str, FleetDeployment]:
    """Deployment undone -> the rollback deployment that undid it: the latest deployment
    started before the rollback, other than the one it restores."""
    undone: dict[str, FleetDeployment] = {}
    for rollback in (d for d in started if d.rollback_to is not None):
        before = [
            d
            for d in started
            if d.rollback_to is None
            and d.id != rollback.rollback_to
            and _start(d) <= _start(rollback)
        ]
        if before:
            undone[before[-1].id] = rollback
    return undone


def _start(d: FleetDeployment) -> datetime:
    assert d.in_progress_at is not None  # only started deployments are compared
    return d.in_progress_at


def _rollout(
    fleet: Fleet,
    d: FleetDeployment,
    rollback: FleetDeployment | None,
    superseded_at: datetime | None,
    settings: ServiceSettings,
) -> Rollout:
    start = _start(d)
    end, outcome = _finish(fleet, d, rollback, superseded_at)
    followed_before = fleet.followed_since is not None and fleet.followed_since <= start
    measured = followed_before or outcome == "succeeded"
    ready_at_start = {"old": Counter[str | None](), "new": Counter[str | None]()}
    changes: list[tuple[datetime, tuple[str, str], int, int]] = []  # time, key, d_old, d_new
    for task in fleet.tasks.values():
        side = "new" if task.deployment == d.id else "old"
        ready = False
        for at, now, key in task.readiness():
            if at <= start:
                ready = now
            elif end is None or at <= end:
                delta = 1 if now else -1
                changes.append(
                    (at, key, delta if side == "old" else 0, delta if side == "new" else 0)
                )
        if ready:
            ready_at_start[side][task.version] += 1
    old, new = ready_at_start["old"].total(), ready_at_start["new"].total()
    samples: list[Sample] = []
    if old + new > 0:
        samples.append(Sample(start, old, new, key=(ECS_SOURCE, f"{d.id} started")))
    changes.sort()
    for i, (at, key, d_old, d_new) in enumerate(changes):
        old, new = old + d_old, new + d_new
        if i + 1 < len(changes) and changes[i + 1][0] == at:
            continue  # one sample per instant, after all of its changes
        last = samples[-1] if samples else None
        if (last is None and old + new > 0) or (
            last and (last.ready_old, last.ready_new) != (old, new)
        ):
            samples.append(Sample(at, old, new, key=key))
    new_versions = Counter(t.version for t in fleet.tasks.values() if t.deployment == d.id)
    desired = ready_at_start["old"].total()
    if not desired:  # a first deployment: nothing to interrupt
        desired = max((s.ready_new for s in samples), default=0)
        samples = []
    if not measured:
        samples, desired = [], 0
    times = [t for t in (d.last_event_at, rollback.last_event_at if rollback else None) if t]
    return Rollout(
        id=d.id,
        service=settings.service,
        environment=settings.environment,
        from_version=_most_common(ready_at_start["old"]),
        to_version=_most_common(new_versions),
        desired=desired or None,
        min_healthy_percent=settings.min_healthy_percent,
        started_at=start,
        finished_at=end,
        outcome=outcome,
        samples=tuple(samples),
        last_event_at=max([*times, *(at for at, *_ in changes)], default=start),
    )


def _finish(
    fleet: Fleet,
    d: FleetDeployment,
    rollback: FleetDeployment | None,
    superseded_at: datetime | None,
) -> tuple[datetime | None, RolloutOutcome | None]:
    if rollback is not None:
        return (rollback.ended_at, "rolledback") if rollback.ended_at else (None, None)
    if d.completed_at is not None:
        return d.completed_at, "succeeded"
    if d.failed_at is not None:
        return d.failed_at, "failed"
    if superseded_at is not None:
        return superseded_at, "failed"
    steady = next((t for t in fleet.steady_at if t > _start(d)), None)
    return (steady, "succeeded") if steady is not None else (None, None)


def _most_common(counts: Counter[str | None]) -> str | None:
    named = [(n, v) for v, n in counts.items() if v]
    return max(named)[1] if named else None
