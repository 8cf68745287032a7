"""Deployments, failures and recoveries of one service in one environment (DESIGN section 9).

Derived, never stored: a pure function of the service's timeline of signals, so the
result depends only on which events happened, not on the order they arrived in.

Rules, walking the signals in event-time order:
- A *deployment* is the first `deployed` signal of a (service, environment, version);
  later signals for the same version describe the same deployment. It becomes current.
- A *failure signal* is an incident detected/reported, a `service.rolledback`, or a
  rollout finishing `failed` / `rolledback`. An incident or a `service.rolledback` marks
  the current deployment failed; a failed or rolled-back rollout marks the deployment
  of its target version failed (recording that attempt as a deployment if nothing else
  described it). The first failure signal opens a *recovery*.
- A recovery closes at the first *restoring signal* after it opened: the last of its
  incidents resolved, a successful deployment that changes the current version, or a
  completed rollback (`service.rolledback`, rollout finishing `rolledback`).
- A deployment made while a recovery is open is *rework*: it was made to repair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from golive.domain.model import Incident, Rollout, Signal, SignalKind, Timeline
from golive.domain.state import State

DeploymentOutcome = Literal["success", "failed"]


@dataclass(frozen=True, slots=True)
class Deployment:
    service: str
    environment: str
    version: str
    deployed_at: datetime
    artifact: str | None = None
    failed_at: datetime | None = None
    rework: bool = False
    # False for a failed rollout nothing else described: it never served traffic.
    completed: bool = True
    # A rollout to this version finished failed or rolled back. Unlike `failed_at` (which
    # a later signal may move to another version), this only ever turns on: it feeds the
    # monotonic `golive_deployments_total{outcome="failed"}` counter.
    attempt_failed: bool = False

    @property
    def outcome(self) -> DeploymentOutcome:
        return "failed" if self.failed_at is not None else "success"


@dataclass(frozen=True, slots=True)
class Recovery:
    service: str
    environment: str
    started_at: datetime
    restored_at: datetime | None = None
    cause: SignalKind = SignalKind.INCIDENT

    @property
    def seconds(self) -> float | None:
        if self.restored_at is None:
            return None
        return (self.restored_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Delivery:
    """The derived history of one (service, environment)."""

    service: str
    environment: str
    deployments: tuple[Deployment, ...] = ()
    recoveries: tuple[Recovery, ...] = ()
    current_version: str | None = None


_RESTORING_ROLLBACKS = {SignalKind.ROLLEDBACK, SignalKind.ROLLOUT_ROLLEDBACK}


@dataclass
class _Walk:
    """Mutable scratch state of one derivation; never escapes `derive`."""

    timeline: Timeline
    deployments: dict[str, Deployment] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    current: str | None = None
    open: Recovery | None = None
    open_incidents: set[str] = field(default_factory=set)

    def deploy(self, signal: Signal, *, completed: bool = True) -> Deployment:
        version = signal.version or ""
        existing = self.deployments.get(version)
        if existing is None:
            existing = Deployment(
                self.timeline.service,
                self.timeline.environment,
                version,
                signal.time,
                artifact=signal.artifact,
                rework=self.open is not None,
                completed=completed,
            )
            self.order.append(version)
        elif completed and not existing.completed:
            existing = replace(existing, completed=True)
        if existing.artifact is None and signal.artifact is not None:
            existing = replace(existing, artifact=signal.artifact)
        self.deployments[version] = existing
        return existing

    def fail(self, version: str | None, signal: Signal) -> None:
        if version is not None and version in self.deployments:
            deployment = self.deployments[version]
            if deployment.failed_at is None:
                self.deployments[version] = replace(deployment, failed_at=signal.time)
        if self.open is None:
            self.open = Recovery(
                self.timeline.service, self.timeline.environment, signal.time, cause=signal.kind
            )

    def restore(self, time: datetime) -> None:
        if self.open is not None:
            self.recoveries.append(replace(self.open, restored_at=time))
        self.open = None
        self.open_incidents.clear()


def incident_signals(incidents: Iterable[Incident]) -> list[Signal]:
    """An incident opens at its earliest detected/reported time and closes at its resolve."""
    signals = []
    for incident in incidents:
        if incident.detected_at is not None:
            key = ("incident", incident.id)
            signals.append(Signal(incident.detected_at, key, SignalKind.INCIDENT, ref=incident.id))
        if incident.resolved_at is not None:
            key = ("incident-resolved", incident.id)
            signals.append(
                Signal(incident.resolved_at, key, SignalKind.INCIDENT_RESOLVED, ref=incident.id)
            )
    return signals


_ROLLOUT_SIGNALS = {
    "succeeded": SignalKind.DEPLOYED,
    "failed": SignalKind.ROLLOUT_FAILED,
    "rolledback": SignalKind.ROLLOUT_ROLLEDBACK,
}


def rollout_signals(rollouts: Iterable[Rollout]) -> list[Signal]:
    """A finished rollout whose target version is known is a deployment signal."""
    return [
        Signal(
            time=r.finished_at,
            key=("rollout", r.id),
            kind=_ROLLOUT_SIGNALS[r.outcome],
            version=r.to_version,
            ref=r.id,
            previous_version=r.from_version,
        )
        for r in rollouts
        if r.outcome is not None and r.finished_at is not None and r.to_version is not None
    ]


def derive(
    timeline: Timeline, incidents: Iterable[Incident] = (), rollouts: Iterable[Rollout] = ()
) -> Delivery:
    """Deployments and recoveries from a service's timeline, incidents and rollouts."""
    walk = _Walk(timeline)
    signals = [*timeline.signals, *incident_signals(incidents), *rollout_signals(rollouts)]
    for signal in sorted(signals):
        kind = signal.kind
        was_open = walk.open is not None
        if kind is SignalKind.DEPLOYED:
            is_new_version = signal.version != walk.current
            walk.deploy(signal)
            walk.current = signal.version
            if was_open and is_new_version:
                walk.restore(signal.time)
        elif kind is SignalKind.INCIDENT:
            if signal.ref is not None:
                walk.open_incidents.add(signal.ref)
            walk.fail(walk.current, signal)
        elif kind is SignalKind.INCIDENT_RESOLVED:
            if was_open and signal.ref in walk.open_incidents:
                walk.open_incidents.discard(signal.ref)
                if not walk.open_incidents:
                    walk.restore(signal.time)
        elif kind is SignalKind.ROLLEDBACK:
            walk.fail(walk.current, signal)
            if was_open:
                walk.restore(signal.time)
            walk.current = signal.version
        elif kind in (SignalKind.ROLLOUT_FAILED, SignalKind.ROLLOUT_ROLLEDBACK):
            attempt = walk.deploy(signal, completed=signal.version in walk.deployments)
            walk.deployments[attempt.version] = replace(attempt, attempt_failed=True)
            walk.fail(signal.version, signal)
            if kind in _RESTORING_ROLLBACKS and was_open:
                walk.restore(signal.time)
            if kind is SignalKind.ROLLOUT_ROLLEDBACK and signal.previous_version is not None:
                walk.current = signal.previous_version
    if walk.open is not None:
        walk.recoveries.append(walk.open)
    return Delivery(
        timeline.service,
        timeline.environment,
        deployments=tuple(walk.deployments[v] for v in walk.order),
        recoveries=tuple(walk.recoveries),
        current_version=walk.current,
    )


def deliveries(state: State) -> dict[tuple[str, str], Delivery]:
    """The delivery of every (service, environment) with a deployment, rollout or incident."""
    incidents: dict[tuple[str, str], list[Incident]] = {}
    for incident in state.incidents.values():
        if incident.service is not None and incident.environment is not None:
            incidents.setdefault((incident.service, incident.environment), []).append(incident)
    rollouts: dict[tuple[str, str], list[Rollout]] = {}
    for rollout in state.rollouts.values():
        if rollout.service is not None and rollout.environment is not None:
            rollouts.setdefault((rollout.service, rollout.environment), []).append(rollout)
    keys = sorted(set(state.timelines) | set(incidents) | set(rollouts))
    return {
        key: derive(
            state.timelines.get(key) or Timeline(*key),
            incidents.get(key, ()),
            rollouts.get(key, ()),
        )
        for key in keys
    }


def delivery_of(state: State, service: str, environment: str) -> Delivery:
    """The delivery of one (service, environment)."""
    key = (service, environment)
    return derive(
        state.timelines.get(key) or Timeline(service, environment),
        [i for i in state.incidents.values() if (i.service, i.environment) == key],
        [r for r in state.rollouts.values() if (r.service, r.environment) == key],
    )
