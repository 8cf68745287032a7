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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

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


SortKey = tuple[datetime, tuple[str, str]]  # the order signals are walked in


@dataclass(frozen=True, slots=True)
class Walked:
    """Where a derivation of one (service, environment) stopped, after the signal whose
    sort key is `last`: with the deployments it made, all a walk of later signals needs
    (`continue_walk`), so that history is not walked again for each new signal."""

    last: SortKey | None = None
    current: str | None = None
    open: Recovery | None = None
    open_incidents: frozenset[str] = frozenset()


@dataclass
class _Walk:
    """Mutable scratch state of one derivation; never escapes this module."""

    service: str
    environment: str
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
                self.service,
                self.environment,
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
            self.open = Recovery(self.service, self.environment, signal.time, cause=signal.kind)

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
    return derive_walked(timeline, incidents, rollouts)[0]


def derive_walked(
    timeline: Timeline, incidents: Iterable[Incident] = (), rollouts: Iterable[Rollout] = ()
) -> tuple[Delivery, Walked]:
    """`derive`, and where its walk stopped."""
    walk = _Walk(timeline.service, timeline.environment)
    signals = sorted([*timeline.signals, *incident_signals(incidents), *rollout_signals(rollouts)])
    _steps(walk, signals)
    recoveries = [*walk.recoveries, *([walk.open] if walk.open is not None else [])]
    delivery = Delivery(
        timeline.service,
        timeline.environment,
        deployments=tuple(walk.deployments[v] for v in walk.order),
        recoveries=tuple(recoveries),
        current_version=walk.current,
    )
    return delivery, _walked(walk, signals[-1] if signals else None, None)


def signal_versions(walked: Walked, signals: Iterable[Signal]) -> set[str]:
    """The versions whose deployments a walk of `signals` from `walked` may read or
    change: `continue_walk` must be given every one of them that was deployed."""
    versions = {walked.current} if walked.current is not None else set()
    for signal in signals:
        versions.add(signal.version or "")
        if signal.previous_version is not None:
            versions.add(signal.previous_version)
    return versions


def continue_walk(
    service: str,
    environment: str,
    walked: Walked,
    deployed: Mapping[str, Deployment],
    signals: Iterable[Signal],
) -> tuple[list[Deployment], list[Recovery], Walked]:
    """Walk `signals`, which all sort after `walked.last`, on from `walked`, given the
    deployments made so far of every version in `signal_versions`. Returns the
    deployments made or changed, the recoveries opened, closed or still open, and where
    the walk stopped: what `derive` of all the signals would give for those."""
    ordered = sorted(signals)
    if walked.last is not None and ordered and (ordered[0].time, ordered[0].key) <= walked.last:
        raise ValueError("continue_walk takes only signals after the last one walked")
    walk = _Walk(service, environment, dict(deployed), list(deployed), [], walked.current)
    walk.open = walked.open
    walk.open_incidents = set(walked.open_incidents)
    _steps(walk, ordered)
    changed = [d for v, d in walk.deployments.items() if deployed.get(v) != d]
    recoveries = list(walk.recoveries)
    if walk.open is not None and walk.open != walked.open:
        recoveries.append(walk.open)
    return changed, recoveries, _walked(walk, ordered[-1] if ordered else None, walked.last)


def _walked(walk: _Walk, last: Signal | None, before: SortKey | None) -> Walked:
    return Walked(
        last=(last.time, last.key) if last is not None else before,
        current=walk.current,
        open=walk.open,
        open_incidents=frozenset(walk.open_incidents),
    )


def _steps(walk: _Walk, signals: Iterable[Signal]) -> None:
    """Walk `signals`, in order, applying the rules of the module docstring."""
    for signal in signals:
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


@dataclass(frozen=True, slots=True)
class SignalChanges:
    """What a batch changed in one (service, environment)'s signals."""

    added: tuple[Signal, ...] = ()
    removed: bool = False  # a signal went or changed: the pair must be derived whole


def _full(signal: Signal) -> tuple[object, ...]:
    # Signals compare by (time, key) only; a changed signal keeps both.
    return (
        signal.time,
        signal.key,
        signal.kind,
        signal.version,
        signal.artifact,
        signal.ref,
        signal.previous_version,
    )


def signal_changes(
    before: State, after: State, touched: Mapping[str, Iterable[Any]]
) -> dict[tuple[str, str], SignalChanges]:
    """The pairs whose signals differ between `before` and `after` (partial states holding
    at least the `touched` entities), and how: a pair a batch touched without changing
    its signals (a rollout's progress, a task) needs no derivation at all."""
    added: dict[tuple[str, str], list[Signal]] = {}
    removed: set[tuple[str, str]] = set()

    def compare(
        old: dict[tuple[str, str], list[Signal]], new: dict[tuple[str, str], list[Signal]]
    ) -> None:
        for pair in old.keys() | new.keys():
            was = {_full(s) for s in old.get(pair, ())}
            now = new.get(pair, [])
            fresh = [s for s in now if _full(s) not in was]
            if fresh:
                added.setdefault(pair, []).extend(fresh)
            if len(was) > len(now) - len(fresh):
                removed.add(pair)

    for key in touched.get("timelines", ()):
        old_timeline, new_timeline = before.timelines.get(key), after.timelines.get(key)
        if old_timeline is new_timeline:
            continue
        old_signals = old_timeline.signals if old_timeline is not None else ()
        new_signals = new_timeline.signals if new_timeline is not None else ()
        # The fold keeps the signal objects it does not replace: when every old one is
        # still there by identity, the new ones are additions, found without comparing
        # the whole history by value.
        kept = {id(s) for s in old_signals}
        fresh = [s for s in new_signals if id(s) not in kept]
        if len(new_signals) - len(fresh) == len(old_signals):
            if fresh:
                added.setdefault(key, []).extend(fresh)
        else:
            compare({key: list(old_signals)}, {key: list(new_signals)})
    for name, signals_of in (("incidents", incident_signals), ("rollouts", rollout_signals)):
        for key in touched.get(name, ()):
            old_entity, new_entity = getattr(before, name).get(key), getattr(after, name).get(key)
            if old_entity is new_entity:
                continue
            compare(_by_pair(old_entity, signals_of), _by_pair(new_entity, signals_of))
    pairs = added.keys() | removed
    return {pair: SignalChanges(tuple(added.get(pair, ())), pair in removed) for pair in pairs}


def _by_pair(
    entity: Incident | Rollout | None, signals_of: Any
) -> dict[tuple[str, str], list[Signal]]:
    if entity is None or not entity.service or not entity.environment:
        return {}
    signals: list[Signal] = signals_of([entity])
    return {(entity.service, entity.environment): signals} if signals else {}


def deliveries(state: State) -> dict[tuple[str, str], Delivery]:
    """The delivery of every (service, environment) with a deployment, rollout or incident."""
    return {key: delivery for key, (delivery, _) in walked_deliveries(state).items()}


def walked_deliveries(state: State) -> dict[tuple[str, str], tuple[Delivery, Walked]]:
    """`deliveries`, each with where its derivation stopped."""
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
        key: derive_walked(
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
