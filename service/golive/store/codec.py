"""The JSON documents the store keeps for each domain entity, and back.

A document is the entity's dataclass fields by name plus `"v"`, the format version, so
rows can be migrated later. Datetimes are ISO 8601 in UTC with microseconds (they sort as
text), tuples and frozensets (sorted) are lists, enums their values, objectives their
`model_dump()`. Encoding is one walk over those few types; decoding is spelled out per
entity so every value is type-checked, and a missing optional field takes the dataclass
default, so a field added later does not break rows written before it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import orjson
from pydantic import BaseModel, ValidationError

from golive import fastjson
from golive.contract.content import Objective, RolloutOutcome, TaskKind, TaskStatus
from golive.domain.ecs import Fleet, FleetDeployment, FleetTask, TaskState
from golive.domain.model import (
    Artifact,
    Change,
    Incident,
    Release,
    ReleaseStatus,
    Rollout,
    Sample,
    Signal,
    SignalKind,
    Stamp,
    Task,
    Team,
    Timeline,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

EntityKind = Literal[
    "release", "task", "team", "rollout", "incident", "change", "artifact", "timeline", "fleet"
]
Entity = Release | Task | Team | Rollout | Incident | Change | Artifact | Timeline | Fleet

FORMAT_VERSION = 1

_T = TypeVar("_T")
_RELEASE_STATUSES: tuple[ReleaseStatus, ...] = get_args(ReleaseStatus)
_TASK_KINDS: tuple[TaskKind, ...] = get_args(TaskKind)
_TASK_STATUSES: tuple[TaskStatus, ...] = get_args(TaskStatus)
_ROLLOUT_OUTCOMES: tuple[RolloutOutcome, ...] = get_args(RolloutOutcome)


# --- encoding ---------------------------------------------------------------------------


_KINDS: dict[type[Entity], EntityKind] = {
    Release: "release",
    Task: "task",
    Team: "team",
    Rollout: "rollout",
    Incident: "incident",
    Change: "change",
    Artifact: "artifact",
    Timeline: "timeline",
    Fleet: "fleet",
}


def kind_of(entity: Entity) -> EntityKind:
    """The kind the store files `entity` under."""
    return _KINDS[type(entity)]


def encode(entity: Entity) -> dict[str, Any]:
    """`entity` as a JSON document: only str, int, float, bool, None, list and dict."""
    return {"v": FORMAT_VERSION, **_record(entity)}


def encode_text(entity: Entity) -> str:
    """`encode(entity)` as JSON text, the form the store sends: the same text (a test
    holds the two equal), written by orjson from a plain dict built for the entity's
    class where the batches write many (`_PLAIN_DOCS`), else from the dataclass itself.
    What orjson refuses (an integer beyond 64 bits, a lone surrogate) takes `encode`'s
    way."""
    for name in _FLOAT_FIELDS.get(type(entity), ()):
        _finite(getattr(entity, name))
    plain_doc = _PLAIN_DOCS.get(type(entity))
    try:
        if plain_doc is not None:
            return orjson.dumps(plain_doc(entity)).decode()
        body = orjson.dumps(entity, default=_orjson_default, option=_ORJSON_OPTIONS)
    except TypeError:
        return fastjson.dumps_finite(encode(entity))
    return _VERSION_PREFIX + body[1:].decode()


_VERSION_PREFIX = f'{{"v":{FORMAT_VERSION},'
# Datetimes are handed to `_orjson_default`, to be written as `encode` writes them.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _orjson_default(value: object) -> object:
    if type(value) is datetime:
        return _json_datetime(value)
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, BaseModel):
        return _json(value.model_dump())  # `_json` refuses what is not finite
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _finite(value: object) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot store non-finite number {value!r}")


def _float_fields(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The fields of `cls` that may hold a float: orjson would write NaN as null."""
    return tuple(f.name for f in fields(cls) if "float" in str(f.type))


# Of the entities and every dataclass inside them, only these hold floats (a test walks
# their field types to check that no other one does).
_FLOAT_FIELDS: dict[type, tuple[str, ...]] = {
    cls: names for cls in _KINDS if (names := _float_fields(cls))
}


def _record(record: DataclassInstance) -> dict[str, object]:
    return {name: _json(getattr(record, name)) for name in _field_names(type(record))}


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _json(value: object) -> object:
    # The common types by exact type first: one dict lookup instead of a run of
    # isinstance checks (`Mapping` is an ABC, slow to check), for the signals, samples
    # and stamps of every document a batch writes back.
    plain = _PLAIN.get(type(value))
    if plain is not None:
        return plain(value)
    return _json_of_any(value)


def _same(value: object) -> object:
    return value


# Texts of the datetimes written lately: a lookup is 60 ns, `isoformat` about 1.1 µs
# (the timespec argument, the time zone). Since the eleventh round, the documents batches
# write most leave a UTC datetime with a fraction of a second to orjson (`_instant`), as
# the cache thrashed on them; what still comes here (whole seconds, other zones, the
# kinds written from the dataclass) is few and repeats: 92 % hits, 4,397 entries, over
# 100,000 benchmark records re-encoded batch by batch five times (docs/performance.md,
# eleventh round). Equal datetimes are the same instant: the same text.
DATETIME_TEXTS = 1 << 15


@functools.lru_cache(maxsize=DATETIME_TEXTS)
def _json_datetime(value: datetime) -> str:
    if value.tzinfo is UTC:  # most are: decoding gives UTC where the text says Z or +00:00
        return value.isoformat(timespec="microseconds")
    if value.utcoffset() is None:
        raise ValueError(f"cannot store naive datetime {value.isoformat()}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _json_list(value: tuple[object, ...] | list[object]) -> list[object]:
    return [_json(v) for v in value]


def _json_dict(value: Mapping[object, object]) -> dict[str, object]:
    return {str(k): _json(v) for k, v in value.items()}


_PLAIN: dict[type, Callable[[Any], object]] = {
    str: _same,
    int: _same,
    bool: _same,
    type(None): _same,
    datetime: _json_datetime,
    tuple: _json_list,
    list: _json_list,
    dict: _json_dict,
    Signal: _record,
    Sample: _record,
}


# The documents of the entities a batch writes back by the thousand, built as plain
# dicts for orjson: it writes a slotted dataclass field by field through Python
# attribute lookups, and hands every datetime to `_orjson_default`, so each signal of a
# timeline cost 0.7-0.8 µs, against 0.3 as a dict (docs/performance.md, eleventh round).
# Fields in the dataclass's order, values as `_json` makes them (the text test holds
# each equal to `encode`); the other kinds are few a batch and take orjson's way.


def _instant(value: datetime) -> datetime | str:
    """A datetime for orjson to write as `_json_datetime` does: itself where orjson's own
    text is that one (UTC, with a fraction of a second: nearly every event time), else
    that text. A batch writes back tens of thousands of datetimes, more than
    `_json_datetime` keeps texts of, and `isoformat` costs 1-2 µs where orjson takes
    0.15."""
    if value.tzinfo is UTC and value.microsecond:
        return value
    return _json_datetime(value)


def _maybe_instant(value: datetime | None) -> datetime | str | None:
    return None if value is None else _instant(value)


def _stamps_doc(stamps: Mapping[str, Stamp]) -> dict[str, tuple[datetime | str, str, str]]:
    return {name: (_instant(t), source, id_) for name, (t, source, id_) in stamps.items()}


def _signal_doc(s: Signal) -> dict[str, object]:
    return {
        "time": _instant(s.time),
        "key": s.key,
        "kind": s.kind.value,
        "version": s.version,
        "artifact": s.artifact,
        "ref": s.ref,
        "previous_version": s.previous_version,
    }


def _sample_doc(s: Sample) -> dict[str, object]:
    return {
        "time": _instant(s.time),
        "ready_old": s.ready_old,
        "ready_new": s.ready_new,
        "desired": s.desired,
        "key": s.key,
    }


def _timeline_doc(t: Timeline) -> dict[str, object]:
    return {
        "v": FORMAT_VERSION,
        "service": t.service,
        "environment": t.environment,
        "signals": [_signal_doc(s) for s in t.signals],
    }


def _rollout_doc(r: Rollout) -> dict[str, object]:
    return {
        "v": FORMAT_VERSION,
        "id": r.id,
        "service": r.service,
        "environment": r.environment,
        "from_version": r.from_version,
        "to_version": r.to_version,
        "desired": r.desired,
        "min_healthy_percent": r.min_healthy_percent,
        "started_at": _maybe_instant(r.started_at),
        "finished_at": _maybe_instant(r.finished_at),
        "outcome": r.outcome,
        "samples": [_sample_doc(s) for s in r.samples],
        "last_event_at": _maybe_instant(r.last_event_at),
        "stamps": _stamps_doc(r.stamps),
    }


def _task_doc(t: Task) -> dict[str, object]:
    return {
        "v": FORMAT_VERSION,
        "id": t.id,
        "release": t.release,
        "team": t.team,
        "title": t.title,
        "due": _maybe_instant(t.due),
        "kind": t.kind,
        "owner": t.owner,
        "status": t.status,
        "created_at": _maybe_instant(t.created_at),
        "started_at": _maybe_instant(t.started_at),
        "last_event_at": _maybe_instant(t.last_event_at),
        "stamps": _stamps_doc(t.stamps),
    }


def _change_doc(c: Change) -> dict[str, object]:
    return {
        "v": FORMAT_VERSION,
        "id": c.id,
        "repository": c.repository,
        "created_at": _maybe_instant(c.created_at),
        "merged_at": _maybe_instant(c.merged_at),
        "stamps": _stamps_doc(c.stamps),
    }


def _artifact_doc(a: Artifact) -> dict[str, object]:
    return {
        "v": FORMAT_VERSION,
        "id": a.id,
        "changes": sorted(a.changes),
        "first_seen": _maybe_instant(a.first_seen),
    }


_PLAIN_DOCS: dict[type, Callable[[Any], dict[str, object]]] = {
    Timeline: _timeline_doc,
    Rollout: _rollout_doc,
    Task: _task_doc,
    Change: _change_doc,
    Artifact: _artifact_doc,
}


def _json_of_any(value: object) -> object:
    # Every field type of the model is one of these; anything new fails loudly here.
    match value:
        case Enum():
            return _json(value.value)
        case None | bool() | int() | str():
            return value
        case float():
            if not math.isfinite(value):  # JSONB has no NaN or Infinity
                raise ValueError(f"cannot store non-finite number {value!r}")
            return value
        case datetime():
            return _json_datetime(value)
        case tuple() | list():
            return _json_list(value)
        case frozenset():
            return [_json(v) for v in sorted(value)]
        case Mapping():
            return _json_dict(value)
        case BaseModel():
            return _json(value.model_dump())
        case _ if is_dataclass(value) and not isinstance(value, type):
            return _record(value)
    raise TypeError(f"no JSON form for {type(value).__name__}: {value!r}")


# --- decoding ---------------------------------------------------------------------------

# A reader checks one JSON value and returns it typed; `where` names it in error messages.
_Read = Callable[[object, str], _T]


class _Doc:
    """Typed reads of a document's fields; a missing or null optional field is its default."""

    def __init__(self, value: object, where: str) -> None:
        self._doc = _object(value, where)
        self._where = where

    def req(self, key: str, read: _Read[_T]) -> _T:
        if self._doc.get(key) is None:
            raise ValueError(f"{self._where}: required field {key!r} is missing or null")
        return read(self._doc[key], f"{self._where}.{key}")

    def opt(self, key: str, read: _Read[_T]) -> _T | None:
        return None if self._doc.get(key) is None else self.req(key, read)

    def get(self, key: str, read: _Read[_T], default: _T) -> _T:
        return default if self._doc.get(key) is None else self.req(key, read)


def _fail(where: str, expected: str, value: object) -> ValueError:
    return ValueError(f"{where}: expected {expected}, got {value!r}")


def _object(value: object, where: str) -> dict[str, object]:
    if not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
        raise _fail(where, "an object", value)
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "a string", value)
    return value


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, "an integer", value)
    return value


def _float(value: object, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _fail(where, "a number", value)
    return float(value)


def _time(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_str(value, where))
    except ValueError:
        raise _fail(where, "an ISO 8601 datetime", value) from None
    if parsed.utcoffset() is None:
        raise _fail(where, "a datetime with a UTC offset", value)
    return parsed.astimezone(UTC)


def _items(value: object, size: int | None, where: str) -> list[object]:
    if not isinstance(value, list) or (size is not None and len(value) != size):
        raise _fail(where, "a list" if size is None else f"a list of {size}", value)
    return value


def _tuple_of(read: _Read[_T]) -> _Read[tuple[_T, ...]]:
    def tuple_of(value: object, where: str) -> tuple[_T, ...]:
        return tuple(read(v, f"{where}[{i}]") for i, v in enumerate(_items(value, None, where)))

    return tuple_of


def _one_of(choices: tuple[_T, ...]) -> _Read[_T]:
    def one_of(value: object, where: str) -> _T:
        for choice in choices:
            if choice == value:
                return choice
        raise _fail(where, f"one of {', '.join(map(str, choices))}", value)

    return one_of


_strs = _tuple_of(_str)


def _key(value: object, where: str) -> tuple[str, str]:
    a, b = _items(value, 2, where)
    return _str(a, where), _str(b, where)


def _target(value: object, where: str) -> tuple[datetime, datetime]:
    at, target = _items(value, 2, where)
    return _time(at, where), _time(target, where)


def _stamps(value: object, where: str) -> dict[str, Stamp]:
    stamps: dict[str, Stamp] = {}
    for name, stamp in _object(value, where).items():
        at = f"{where}.{name}"
        t, source, id_ = _items(stamp, 3, at)
        stamps[name] = (_time(t, at), _str(source, at), _str(id_, at))
    return stamps


def _objective(value: object, where: str) -> Objective:
    try:
        return Objective.model_validate(value)
    except ValidationError as e:
        raise ValueError(f"{where}: {e}") from None


def _open(doc: Mapping[str, Any], kind: EntityKind) -> _Doc:
    version: object = doc.get("v")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ValueError(
            f"{kind} document has unknown format version {version!r}: "
            f"this golive reads version {FORMAT_VERSION}"
        )
    return _Doc(dict(doc), kind)


def decode_release(doc: Mapping[str, Any]) -> Release:
    d = _open(doc, "release")
    return Release(
        id=d.req("id", _str),
        name=d.opt("name", _str),
        target_date=d.opt("target_date", _time),
        environment=d.opt("environment", _str),
        services=d.get("services", _strs, ()),
        teams=d.get("teams", _strs, ()),
        objectives=d.get("objectives", _tuple_of(_objective), ()),
        status=d.get("status", _one_of(_RELEASE_STATUSES), "open"),
        planned_at=d.opt("planned_at", _time),
        closed_at=d.opt("closed_at", _time),
        targets=d.get("targets", _tuple_of(_target), ()),
        stamps=d.get("stamps", _stamps, {}),
    )


def decode_task(doc: Mapping[str, Any]) -> Task:
    d = _open(doc, "task")
    return Task(
        id=d.req("id", _str),
        release=d.opt("release", _str),
        team=d.opt("team", _str),
        title=d.opt("title", _str),
        due=d.opt("due", _time),
        kind=d.get("kind", _one_of(_TASK_KINDS), "plan"),
        owner=d.opt("owner", _str),
        status=d.get("status", _one_of(_TASK_STATUSES), "todo"),
        created_at=d.opt("created_at", _time),
        started_at=d.opt("started_at", _time),
        last_event_at=d.opt("last_event_at", _time),
        stamps=d.get("stamps", _stamps, {}),
    )


def decode_team(doc: Mapping[str, Any]) -> Team:
    d = _open(doc, "team")
    return Team(
        name=d.req("name", _str),
        first_activity=d.opt("first_activity", _time),
        last_activity=d.opt("last_activity", _time),
        events=d.get("events", _int, 0),
    )


def _sample(value: object, where: str) -> Sample:
    d = _Doc(value, where)
    return Sample(
        time=d.req("time", _time),
        ready_old=d.req("ready_old", _int),
        ready_new=d.req("ready_new", _int),
        desired=d.opt("desired", _int),
        key=d.get("key", _key, ("", "")),
    )


def decode_rollout(doc: Mapping[str, Any]) -> Rollout:
    d = _open(doc, "rollout")
    return Rollout(
        id=d.req("id", _str),
        service=d.opt("service", _str),
        environment=d.opt("environment", _str),
        from_version=d.opt("from_version", _str),
        to_version=d.opt("to_version", _str),
        desired=d.opt("desired", _int),
        min_healthy_percent=d.get("min_healthy_percent", _float, 100.0),
        started_at=d.opt("started_at", _time),
        finished_at=d.opt("finished_at", _time),
        outcome=d.opt("outcome", _one_of(_ROLLOUT_OUTCOMES)),
        samples=d.get("samples", _tuple_of(_sample), ()),
        last_event_at=d.opt("last_event_at", _time),
        stamps=d.get("stamps", _stamps, {}),
    )


def decode_incident(doc: Mapping[str, Any]) -> Incident:
    d = _open(doc, "incident")
    return Incident(
        id=d.req("id", _str),
        service=d.opt("service", _str),
        environment=d.opt("environment", _str),
        description=d.opt("description", _str),
        detected_at=d.opt("detected_at", _time),
        resolved_at=d.opt("resolved_at", _time),
        stamps=d.get("stamps", _stamps, {}),
    )


def decode_change(doc: Mapping[str, Any]) -> Change:
    d = _open(doc, "change")
    return Change(
        id=d.req("id", _str),
        repository=d.opt("repository", _str),
        created_at=d.opt("created_at", _time),
        merged_at=d.opt("merged_at", _time),
        stamps=d.get("stamps", _stamps, {}),
    )


def decode_artifact(doc: Mapping[str, Any]) -> Artifact:
    d = _open(doc, "artifact")
    return Artifact(
        id=d.req("id", _str),
        changes=frozenset(d.opt("changes", _strs) or ()),
        first_seen=d.opt("first_seen", _time),
    )


def _signal(value: object, where: str) -> Signal:
    d = _Doc(value, where)
    return Signal(
        time=d.req("time", _time),
        key=d.req("key", _key),
        kind=d.req("kind", _one_of(tuple(SignalKind))),
        version=d.opt("version", _str),
        artifact=d.opt("artifact", _str),
        ref=d.opt("ref", _str),
        previous_version=d.opt("previous_version", _str),
    )


def encode_signals(signals: Iterable[Signal]) -> str:
    """Signals as a JSON array of their documents (a timeline's `signals`): each batch
    queues those it added, by service (`derived.mark_pending`)."""
    signals = list(signals)
    try:
        return orjson.dumps([_signal_doc(s) for s in signals]).decode()
    except TypeError:  # what orjson refuses: `encode_text`'s way
        return fastjson.dumps_finite([_record(s) for s in signals])


def decode_signals(value: object) -> tuple[Signal, ...]:
    """`encode_signals`, parsed, back to signals."""
    return _tuple_of(_signal)(value, "signals")


def decode_timeline(doc: Mapping[str, Any]) -> Timeline:
    d = _open(doc, "timeline")
    return Timeline(
        service=d.req("service", _str),
        environment=d.req("environment", _str),
        signals=d.get("signals", _tuple_of(_signal), ()),
    )


def _task_state(value: object, where: str) -> TaskState:
    d = _Doc(value, where)
    return TaskState(
        time=d.req("time", _time),
        version=d.get("version", _int, 0),
        key=d.req("key", _key),
        last_status=d.req("last_status", _str),
        desired_status=d.opt("desired_status", _str),
        health=d.opt("health", _str),
    )


def _fleet_task(value: object, where: str) -> FleetTask:
    d = _Doc(value, where)
    return FleetTask(
        arn=d.req("arn", _str),
        deployment=d.opt("deployment", _str),
        version=d.opt("version", _str),
        started_at=d.opt("started_at", _time),
        states=d.get("states", _tuple_of(_task_state), ()),
    )


def _fleet_deployment(value: object, where: str) -> FleetDeployment:
    d = _Doc(value, where)
    return FleetDeployment(
        id=d.req("id", _str),
        in_progress_at=d.opt("in_progress_at", _time),
        completed_at=d.opt("completed_at", _time),
        failed_at=d.opt("failed_at", _time),
        rollback_to=d.opt("rollback_to", _str),
        last_event_at=d.opt("last_event_at", _time),
    )


def _map_of(read: _Read[_T]) -> _Read[dict[str, _T]]:
    def map_of(value: object, where: str) -> dict[str, _T]:
        return {k: read(v, f"{where}.{k}") for k, v in _object(value, where).items()}

    return map_of


def decode_fleet(doc: Mapping[str, Any]) -> Fleet:
    d = _open(doc, "fleet")
    return Fleet(
        id=d.req("id", _str),
        cluster=d.req("cluster", _str),
        service=d.req("service", _str),
        deployments=d.get("deployments", _map_of(_fleet_deployment), {}),
        tasks=d.get("tasks", _map_of(_fleet_task), {}),
        steady_at=d.get("steady_at", _tuple_of(_time), ()),
        followed_since=d.opt("followed_since", _time),
        last_event_at=d.opt("last_event_at", _time),
    )
