"""The whole state and the reducer `apply(state, event) -> state`.

`apply` dispatches on the event's `subject.predicate` to entity reducers. Entity reducers
only ever take the newest stamped value, the earliest start, the latest activity or the
union of facts, so the same set of events gives the same state in any delivery order,
and an event applied twice changes nothing (the `seen` keys make counters safe too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from golive.contract import Event
from golive.contract.content import (
    ArtifactPackagedContent,
    ArtifactPublishedContent,
    ChangeContent,
    IncidentContent,
    ReleaseClosed,
    ReleasePlanned,
    ReleaseUpdated,
    RolloutFinished,
    RolloutProgressed,
    RolloutStarted,
    ServiceContent,
    TaskScheduled,
    TaskUpdated,
    TicketContent,
)
from golive.contract.ecs import (
    EcsDeploymentStateChange,
    EcsServiceAction,
    EcsTaskStateChange,
    service_of_arn,
)
from golive.contract.event import purl_version
from golive.domain import ecs
from golive.domain.catalog import EMPTY_CATALOG, Catalog
from golive.domain.model import (
    Artifact,
    Change,
    Incident,
    Release,
    Rollout,
    Sample,
    Signal,
    SignalKind,
    Stamp,
    Task,
    Team,
    Timeline,
    earliest,
    evolve,
    latest,
    new_sample,
    new_team,
)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class State:
    releases: Mapping[str, Release] = field(default_factory=dict)
    tasks: Mapping[str, Task] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    rollouts: Mapping[str, Rollout] = field(default_factory=dict)
    incidents: Mapping[str, Incident] = field(default_factory=dict)
    changes: Mapping[str, Change] = field(default_factory=dict)
    artifacts: Mapping[str, Artifact] = field(default_factory=dict)
    timelines: Mapping[tuple[str, str], Timeline] = field(default_factory=dict)
    fleets: Mapping[str, ecs.Fleet] = field(default_factory=dict)  # ECS services, by ARN
    event_counts: Mapping[str, int] = field(default_factory=dict)  # by event name
    seen: AbstractSet[tuple[str, str]] = frozenset()


class _Owned(dict[K, V]):
    """A map of a fold in progress (`_begin_fold`): `_put` writes into it rather than copy it.
    Copying every map on every event made a batch quadratic in its size: 2,000 events
    copied maps of up to 2,000 entries 2,000 times (docs/performance.md)."""


class _OwnedSet(set[V]):
    """`seen`, likewise."""


def _put(mapping: Mapping[K, V], key: K, value: V) -> Mapping[K, V]:
    if mapping.get(key) is value:
        return mapping
    if type(mapping) is _Owned:
        mapping[key] = value
        return mapping
    return {**mapping, key: value}


def _with_seen(seen: AbstractSet[V], key: V) -> AbstractSet[V]:
    if type(seen) is _OwnedSet:
        seen.add(key)
        return seen
    return frozenset(seen) | {key}


def _evolve(state: State, **changes: Any) -> State:
    """`replace(state, **changes)`, or `state` itself when every change is the value it
    holds already: in a fold the maps are written in place, so most are (a State copy per
    event was a fifth of the reducer's time, docs/performance.md)."""
    for name, value in changes.items():
        if getattr(state, name) is not value:
            return evolve(state, **changes)
    return state


def _begin_fold(state: State) -> State:
    """`state`, with maps and a `seen` set that a fold over many events owns: copies that
    the reducers then write in place. The states a fold goes through share them, so only
    its last one may leave it, through `_end_fold`. `apply` alone stays pure."""
    return replace(
        state,
        seen=_OwnedSet(state.seen),
        **{name: _Owned(getattr(state, name)) for name in _MAP_FIELDS},
    )


def _end_fold(state: State) -> State:
    """The last state of a fold, with plain maps again, that nothing writes any more.
    (`apply` returns the very state it was given for an event already applied, so a fold
    that found nothing new can hand back its input instead.)"""
    return replace(
        state,
        seen=frozenset(state.seen),
        **{name: dict(getattr(state, name)) for name in _MAP_FIELDS},
    )


def known_releases(state: State) -> dict[str, Release]:
    """Planned releases plus those only named by tasks so far (as bare releases)."""
    named = {t.release: Release(t.release) for t in state.tasks.values() if t.release}
    return named | dict(state.releases)


def stamp_of(event: Event) -> Stamp:
    return (event.time, event.source, event.id)


def attribute_team(event: Event, catalog: Catalog) -> str | None:
    """The event's team: its own attribution, else the catalog owner of its service."""
    if event.team:
        return event.team
    return catalog.owner(event.service)


# The State fields that hold entities, in the fixed order stores lock them in.
ENTITY_FIELDS = (
    "releases",
    "tasks",
    "teams",
    "fleets",  # before rollouts: a batch loads an ECS service's fleet to find its rollouts
    "rollouts",
    "incidents",
    "changes",
    "artifacts",
    "timelines",
)
# The State fields a fold copies: every map (`seen` is the one set).
_MAP_FIELDS = (*ENTITY_FIELDS, "event_counts")

_TOUCHED_FIELD = {
    "golive-release": "releases",
    "golive-task": "tasks",
    "ticket": "tasks",
    "golive-rollout": "rollouts",
    "incident": "incidents",
    "change": "changes",
    "artifact": "artifacts",
}


def touches(event: Event, catalog: Catalog = EMPTY_CATALOG) -> dict[str, set[Any]]:
    """The entities `apply` may read or change for `event`, by State field.

    A store loads exactly these before applying the event to a partial state.
    """
    touched: dict[str, set[Any]] = {}
    team = attribute_team(event, catalog)
    if team is not None:
        touched["teams"] = {team}
    field_name = _TOUCHED_FIELD.get(event.kind.subject)
    if field_name is not None and event.name in _REDUCERS:
        touched.setdefault(field_name, set()).add(event.subject_id)
    if type(event.content) is ServiceContent and event.name in _REDUCERS:
        touched["timelines"] = {(event.subject_id, event.content.environment.id)}
    if _ecs_service_event(event):
        touched["fleets"] = {event.subject_id}
        if isinstance(event.content, EcsDeploymentStateChange):
            # It may name no rollout after all: a rollback deployment is none.
            touched["rollouts"] = {event.content.deployment_id}
    return touched


def derived_touches(loaded: State) -> dict[str, set[Any]]:
    """The entities `apply` may also change, which only the entities `touches` named tell
    once loaded: the rollouts an ECS service's fleet derives (`domain.ecs`)."""
    rollouts = {key for fleet in loaded.fleets.values() for key in ecs.rollout_ids(fleet)}
    return {"rollouts": rollouts} if rollouts else {}


# By exact type: isinstance against pydantic models goes through ABCMeta, and this is
# asked twice of every event.
_ECS_SERVICE_CONTENT = frozenset({EcsDeploymentStateChange, EcsTaskStateChange, EcsServiceAction})


def _ecs_service_event(event: Event) -> bool:
    is_ecs = type(event.content) in _ECS_SERVICE_CONTENT
    return is_ecs and service_of_arn(event.subject_id) is not None


def apply(state: State, event: Event, catalog: Catalog = EMPTY_CATALOG) -> State:
    """The state after `event`; unchanged if the event was already applied."""
    key = event.key
    if key in state.seen:
        return state
    state = _evolve(
        state,
        seen=_with_seen(state.seen, key),
        event_counts=_put(
            state.event_counts, event.name, state.event_counts.get(event.name, 0) + 1
        ),
    )
    team = attribute_team(event, catalog)
    if team is not None:
        state = _evolve(
            state, teams=_put(state.teams, team, _touch(state.teams.get(team), team, event))
        )
    if _ecs_service_event(event):
        return _ecs_service(state, event, catalog)
    reducer = _REDUCERS.get(event.name)
    return reducer(state, event, team) if reducer else state


def apply_all(
    events: Iterable[Event],
    catalog: Catalog = EMPTY_CATALOG,
    state: State | None = None,
    after_each: Callable[[Event, State], None] | None = None,
) -> State:
    """`apply` each event in turn; `after_each` sees each event with the state it leaves.
    Returns the very `state` it was given when no event was new."""
    folding = Folding(state or State(), catalog, after_each)
    folding.apply(events)
    return folding.state()


class Folding:
    """`apply_all`, a part of the events at a time: the caller may do other work between
    parts (a batch folded ahead of its transaction lets the one before it go on). The
    maps are copied once when it begins and once when `state()` ends it, not per part."""

    __slots__ = ("_after_each", "_catalog", "_current", "_start")

    def __init__(
        self,
        state: State,
        catalog: Catalog = EMPTY_CATALOG,
        after_each: Callable[[Event, State], None] | None = None,
    ) -> None:
        self._start = state
        self._current = _begin_fold(state)
        self._catalog = catalog
        self._after_each = after_each

    def apply(self, events: Iterable[Event]) -> None:
        current, catalog, after_each = self._current, self._catalog, self._after_each
        for event in events:
            current = apply(current, event, catalog)
            if after_each is not None:
                after_each(event, current)
        self._current = current

    def state(self) -> State:
        """The state after every event applied; the fold is over (apply no more)."""
        # A fold writes its maps in place, so the current state may be its first however
        # many events it applied: the `seen` set tells whether any was new.
        if len(self._current.seen) == len(self._start.seen):
            return self._start
        return _end_fold(self._current)


def _touch(team: Team | None, name: str, event: Event) -> Team:
    if team is None:
        return new_team(name, event.time, event.time, 1)
    # Built directly, not with `replace`: this runs for nearly every event.
    return new_team(
        name,
        earliest(team.first_activity, event.time),
        latest(team.last_activity, event.time),
        team.events + 1,
    )


# --- releases and tasks -------------------------------------------------------------------


def _release(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    release = state.releases.get(event.subject_id) or Release(event.subject_id)
    stamp = stamp_of(event)
    if isinstance(c, ReleasePlanned | ReleaseUpdated):
        fields = {
            "name": c.name,
            "target_date": c.target_date,
            "environment": c.environment,
            "services": tuple(c.services) if c.services is not None else None,
            "teams": tuple(c.teams) if c.teams is not None else None,
            "objectives": tuple(c.objectives) if c.objectives is not None else None,
        }
        release = release.merge(stamp, **{k: v for k, v in fields.items() if v is not None})
        release = evolve(release, planned_at=earliest(release.planned_at, event.time))
        if c.target_date is not None and (event.time, c.target_date) not in release.targets:
            release = evolve(
                release, targets=tuple(sorted({*release.targets, (event.time, c.target_date)}))
            )
    elif isinstance(c, ReleaseClosed):
        release = release.merge(stamp, status=c.outcome, closed_at=event.time)
    return _evolve(state, releases=_put(state.releases, release.id, release))


def _task(state: State, event: Event, team: str | None) -> State:
    c = event.content
    task = state.tasks.get(event.subject_id) or Task(event.subject_id)
    stamp = stamp_of(event)
    fields: dict[str, object] = {}
    if isinstance(c, TaskScheduled | TaskUpdated):
        # Only what the producer sent: a re-sent `scheduled` must not reset the status.
        sent = c.model_fields_set
        fields = {
            "release": c.release,
            "team": c.team or (team if isinstance(c, TaskScheduled) else None),
            "title": c.title,
            "due": c.due_date,
            "kind": c.kind if "kind" in sent else None,
            "owner": c.owner,
            "status": c.status if "status" in sent else None,
        }
    elif isinstance(c, TicketContent):
        fields = {
            "release": c.milestone,
            "team": team,
            "title": c.summary,
            "due": c.due_date,
            "kind": c.kind,
            "owner": c.assignees[0] if c.assignees else None,
            "status": "done" if event.kind.predicate == "closed" else None,
        }
    times = {
        "created_at": earliest(task.created_at, event.time),
        "last_event_at": latest(task.last_event_at, event.time),
    }
    if fields.get("status") == "in_progress":
        times["started_at"] = earliest(task.started_at, event.time)
    task = task.merge_with(stamp, {k: v for k, v in fields.items() if v is not None}, **times)
    # A task may name a release before it is planned; `known_releases` lists those too.
    return _evolve(state, tasks=_put(state.tasks, task.id, task))


# --- rollouts -------------------------------------------------------------------------------


def _rollout(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    rollout = state.rollouts.get(event.subject_id) or Rollout(event.subject_id)
    stamp = stamp_of(event)
    last_event_at = latest(rollout.last_event_at, event.time)
    if isinstance(c, RolloutStarted):
        values = {
            "service": c.service,
            "environment": c.environment,
            "from_version": c.from_version,
            "to_version": c.to_version,
            "desired": c.desired_instances,
            "min_healthy_percent": c.min_healthy_percent,
            "started_at": event.time,
        }
        rollout = rollout.merge_with(stamp, values, last_event_at=last_event_at)
    elif isinstance(c, RolloutFinished):
        values = {"outcome": c.outcome, "finished_at": event.time}
        rollout = rollout.merge_with(stamp, values, last_event_at=last_event_at)
    else:
        samples = rollout.samples
        if isinstance(c, RolloutProgressed):
            sample = new_sample(
                event.time, c.ready_old, c.ready_new, c.desired_instances, event.key
            )
            samples = _with_sample(samples, sample)
        if samples is not rollout.samples or last_event_at != rollout.last_event_at:
            rollout = evolve(rollout, samples=samples, last_event_at=last_event_at)
    # A finished rollout is a deployment signal, derived from the entity when KPIs are
    # computed (`delivery.rollout_signals`): its service may be known only later.
    return _evolve(state, rollouts=_put(state.rollouts, rollout.id, rollout))


def _with_sample(samples: tuple[Sample, ...], sample: Sample) -> tuple[Sample, ...]:
    """`samples` (sorted by time, then reporting event) with `sample`, once."""
    if not samples or (samples[-1].time, samples[-1].key) < (sample.time, sample.key):
        return (*samples, sample)  # the common case: samples arrive in time order
    if sample in samples:
        return samples
    return tuple(sorted({*samples, sample}, key=lambda s: (s.time, s.key)))


def _ecs_service(state: State, event: Event, catalog: Catalog) -> State:
    """Fold the event into its service's fleet, then re-derive the fleet's rollouts."""
    service = service_of_arn(event.subject_id)
    assert service is not None  # `_ecs_service_event`
    fleet = state.fleets.get(event.subject_id) or ecs.Fleet(
        event.subject_id, service.cluster, service.name
    )
    fleet = ecs.apply_event(fleet, event)
    settings = ecs.ServiceSettings(
        service=service.name,
        environment=catalog.ecs_environment(service.cluster),
        min_healthy_percent=catalog.min_healthy(service.name),
    )
    rollouts = state.rollouts
    for rollout_id, rollout in ecs.rollouts(fleet, settings).items():
        if rollouts.get(rollout_id) != rollout:
            rollouts = _put(rollouts, rollout_id, rollout)
    return _evolve(state, fleets=_put(state.fleets, fleet.id, fleet), rollouts=rollouts)


def _add_signal(state: State, service: str, environment: str, signal: Signal) -> State:
    key = (service, environment)
    timeline = state.timelines.get(key) or Timeline(service, environment)
    return _evolve(state, timelines=_put(state.timelines, key, timeline.with_signal(signal)))


# --- deliveries: services, incidents, changes, artifacts ------------------------------------

_SERVICE_SIGNALS = {
    "deployed": SignalKind.DEPLOYED,
    "upgraded": SignalKind.DEPLOYED,
    "rolledback": SignalKind.ROLLEDBACK,
}


def _service(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    if not isinstance(c, ServiceContent):
        return state
    signal = Signal(
        time=event.time,
        key=event.key,
        kind=_SERVICE_SIGNALS[event.kind.predicate],
        version=purl_version(c.artifact_id) or c.artifact_id,
        artifact=c.artifact_id,
    )
    return _add_signal(state, event.subject_id, c.environment.id, signal)


def _incident(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    if not isinstance(c, IncidentContent):
        return state
    incident = state.incidents.get(event.subject_id) or Incident(event.subject_id)
    stamp = stamp_of(event)
    service = c.service.id if c.service else None
    fields = {"environment": c.environment.id, "description": c.description, "service": service}
    incident = incident.merge(stamp, **{k: v for k, v in fields.items() if v is not None})
    resolved = event.kind.predicate == "resolved"
    if resolved:
        incident = evolve(incident, resolved_at=latest(incident.resolved_at, event.time))
    else:
        incident = evolve(incident, detected_at=earliest(incident.detected_at, event.time))
    # Its signals are derived from the entity (see `delivery.incident_signals`), so a
    # service named by a later event moves them: placement never depends on arrival order.
    return _evolve(state, incidents=_put(state.incidents, incident.id, incident))


def _change(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    change = state.changes.get(event.subject_id) or Change(event.subject_id)
    if isinstance(c, ChangeContent) and c.repository is not None:
        change = change.merge(stamp_of(event), repository=c.repository.id)
    if event.kind.predicate == "created":
        change = evolve(change, created_at=earliest(change.created_at, event.time))
    elif event.kind.predicate == "merged":
        change = evolve(change, merged_at=earliest(change.merged_at, event.time))
    return _evolve(state, changes=_put(state.changes, change.id, change))


def _artifact(state: State, event: Event, _team: str | None) -> State:
    c = event.content
    artifact = state.artifacts.get(event.subject_id) or Artifact(event.subject_id)
    changes = artifact.changes
    if isinstance(c, ArtifactPackagedContent | ArtifactPublishedContent) and c.change is not None:
        changes = changes | {c.change.id}
    artifact = evolve(
        artifact, changes=changes, first_seen=earliest(artifact.first_seen, event.time)
    )
    return _evolve(state, artifacts=_put(state.artifacts, artifact.id, artifact))


Reducer = Callable[[State, Event, str | None], State]

_REDUCERS: dict[str, Reducer] = {
    "golive-release.planned": _release,
    "golive-release.updated": _release,
    "golive-release.closed": _release,
    "golive-task.scheduled": _task,
    "golive-task.updated": _task,
    "ticket.created": _task,
    "ticket.updated": _task,
    "ticket.closed": _task,
    "golive-rollout.started": _rollout,
    "golive-rollout.progressed": _rollout,
    "golive-rollout.finished": _rollout,
    "service.deployed": _service,
    "service.upgraded": _service,
    "service.rolledback": _service,
    "incident.detected": _incident,
    "incident.reported": _incident,
    "incident.resolved": _incident,
    "change.created": _change,
    "change.merged": _change,
    "artifact.packaged": _artifact,
    "artifact.published": _artifact,
}
