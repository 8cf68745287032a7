"""The entities golive tracks, as immutable values.

Every field that later events may overwrite carries a *stamp* (event time, source, id):
a write wins only if its stamp is newer, so an older event never overwrites newer facts
and delivery order does not change the result (DESIGN section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self, TypeVar

from golive.contract.content import Objective, RolloutOutcome, TaskKind, TaskStatus
from golive.frozen import Copier, constructor, copier

Stamp = tuple[datetime, str, str]  # (event time, source, id): a total order over events

ReleaseStatus = Literal["open", "completed", "cancelled"]

E = TypeVar("E")


def evolve(entity: E, /, **changes: Any) -> E:
    """`dataclasses.replace(entity, **changes)` for a frozen dataclass with slots and no
    `__post_init__`, such as the entities, in a third of the time: the reducers copy an
    entity once an event, and `replace` builds keyword arguments that the generated
    `__init__` then sets one `object.__setattr__` at a time (docs/performance.md, eleventh
    and twelfth rounds). This reads every field in one call and writes each through its
    slot (`golive.frozen.copier`)."""
    return _evolved(entity, changes)


def _evolved(entity: E, changes: dict[str, Any]) -> E:
    """`evolve(entity, **changes)`, for a caller holding the changes in a dict already."""
    cls = type(entity)
    copy = _COPIERS.get(cls) or _copier(cls)
    return copy(entity, changes)  # type: ignore[no-any-return]


_COPIERS: dict[type, Copier] = {}


def _copier(cls: type) -> Copier:
    made = _COPIERS[cls] = copier(cls)
    return made


class Stamped:
    """Last-writer-wins fields, keyed by field name, ordered by `Stamp`."""

    stamps: Mapping[str, Stamp]

    def merge(self, stamp: Stamp, **values: Any) -> Self:
        """Set each field whose current stamp is older than `stamp` (missing = older)."""
        return self.merge_with(stamp, values)

    def merge_with(self, stamp: Stamp, values: Mapping[str, Any], **unstamped: Any) -> Self:
        """`merge(stamp, **values)`, also setting the `unstamped` fields, in one copy (a
        reducer copies its entity once an event: `replace` was a quarter of its time)."""
        stamps = self.stamps
        changes = {k: v for k, v in values.items() if k not in stamps or stamps[k] < stamp}
        if changes:
            unstamped["stamps"] = dict(stamps) | dict.fromkeys(changes, stamp)
            unstamped.update(changes)
        elif not unstamped:
            return self
        return _evolved(self, unstamped)


def earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


@dataclass(frozen=True, slots=True)
class Release(Stamped):
    id: str
    name: str | None = None
    target_date: datetime | None = None
    environment: str | None = None
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    objectives: tuple[Objective, ...] = ()
    status: ReleaseStatus = "open"
    planned_at: datetime | None = None  # earliest planned/updated event time
    closed_at: datetime | None = None
    # Every target date ever announced, by event time: the schedule slip.
    targets: tuple[tuple[datetime, datetime], ...] = ()
    stamps: Mapping[str, Stamp] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def first_target(self) -> datetime | None:
        return self.targets[0][1] if self.targets else None


@dataclass(frozen=True, slots=True)
class Task(Stamped):
    id: str
    release: str | None = None
    team: str | None = None
    title: str | None = None
    due: datetime | None = None
    kind: TaskKind = "plan"
    owner: str | None = None
    status: TaskStatus = "todo"
    created_at: datetime | None = None  # earliest event time seen for the task
    started_at: datetime | None = None  # earliest move to in_progress
    last_event_at: datetime | None = None  # latest event about the task: its team's activity
    stamps: Mapping[str, Stamp] = field(default_factory=dict)

    @property
    def is_done(self) -> bool:
        return self.status == "done"

    @property
    def done_at(self) -> datetime | None:
        """When the task was (last) completed, if it is done."""
        return self.stamps["status"][0] if self.is_done and "status" in self.stamps else None

    def is_overdue(self, now: datetime) -> bool:
        return not self.is_done and self.due is not None and self.due < now


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    first_activity: datetime | None = None
    last_activity: datetime | None = None
    events: int = 0

    def plus(self, more: Team) -> Team:
        """This activity and `more` of the same team: the first, the last and the count of
        both. Events folded in any split, each part from nothing, add up to their whole
        fold: a store adds each batch's part to what it holds (`store.batches.ADDED_UP`)."""
        first, last = self.first_activity, self.last_activity
        if more.first_activity is not None:
            first = earliest(first, more.first_activity)
        if more.last_activity is not None:
            last = latest(last, more.last_activity)
        return Team(self.name, first, last, self.events + more.events)


@dataclass(frozen=True, slots=True)
class Sample:
    """Instances ready at `time` during a rollout; holds until the next sample."""

    time: datetime
    ready_old: int
    ready_new: int
    desired: int | None = None
    key: tuple[str, str] = ("", "")  # the event that reported it, to dedupe

    @property
    def ready(self) -> int:
        return self.ready_old + self.ready_new


# `Team(...)` and `Sample(...)` with every field, in order, positionally: the reducers
# make one for nearly every event, and a frozen class's own `__init__` takes twice as long
# (`golive.frozen`).
new_team: Callable[[str, datetime | None, datetime | None, int], Team] = constructor(Team)
new_sample: Callable[[datetime, int, int, int | None, tuple[str, str]], Sample] = constructor(
    Sample
)


@dataclass(frozen=True, slots=True)
class Rollout(Stamped):
    id: str
    service: str | None = None
    environment: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    desired: int | None = None
    min_healthy_percent: float = 100.0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: RolloutOutcome | None = None
    samples: tuple[Sample, ...] = ()  # sorted by (time, key)
    last_event_at: datetime | None = None  # latest event about the rollout: owner's activity
    stamps: Mapping[str, Stamp] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True, slots=True)
class Incident(Stamped):
    id: str
    service: str | None = None
    environment: str | None = None
    description: str | None = None
    detected_at: datetime | None = None
    resolved_at: datetime | None = None
    stamps: Mapping[str, Stamp] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change(Stamped):
    id: str
    repository: str | None = None
    created_at: datetime | None = None
    merged_at: datetime | None = None
    stamps: Mapping[str, Stamp] = field(default_factory=dict)

    @property
    def started_at(self) -> datetime | None:
        """Lead time starts at the earliest of creation and merge."""
        times = [t for t in (self.created_at, self.merged_at) if t is not None]
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class Artifact:
    id: str
    changes: frozenset[str] = frozenset()
    first_seen: datetime | None = None


class SignalKind(StrEnum):
    """What happened to a service in an environment, as far as DORA is concerned."""

    DEPLOYED = "deployed"  # service.deployed / upgraded, or a rollout that succeeded
    ROLLOUT_FAILED = "rollout_failed"
    ROLLOUT_ROLLEDBACK = "rollout_rolledback"
    ROLLEDBACK = "rolledback"  # service.rolledback: the artifact is the version restored
    INCIDENT = "incident"  # incident detected or reported
    INCIDENT_RESOLVED = "incident_resolved"


@dataclass(frozen=True, slots=True, order=True)
class Signal:
    time: datetime
    key: tuple[str, str]  # the event (or `("rollout", id)`) that produced it; unique
    kind: SignalKind = field(compare=False)
    version: str | None = field(default=None, compare=False)
    artifact: str | None = field(default=None, compare=False)
    ref: str | None = field(default=None, compare=False)  # incident id or rollout id
    previous_version: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything that happened to one service in one environment, in event-time order."""

    service: str
    environment: str
    signals: tuple[Signal, ...] = ()

    def with_signal(self, signal: Signal) -> Timeline:
        """Insert `signal`, replacing any earlier signal with the same key."""
        kept = [s for s in self.signals if s.key != signal.key]
        if len(kept) < len(self.signals) and astuple(signal) in map(astuple, self.signals):
            return self
        return evolve(self, signals=tuple(sorted([*kept, signal])))
