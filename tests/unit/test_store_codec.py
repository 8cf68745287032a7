"""The store's JSON documents give back exactly the entities that were encoded."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar, get_args, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from golive import fastjson
from golive.contract.content import (
    Objective,
    ObjectiveKpi,
    ObjectiveOp,
    RolloutOutcome,
    TaskKind,
    TaskStatus,
)
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
    Task,
    Team,
    Timeline,
)
from golive.store import codec
from golive.store.codec import (
    Entity,
    EntityKind,
    decode_artifact,
    decode_change,
    decode_fleet,
    decode_incident,
    decode_release,
    decode_rollout,
    decode_signals,
    decode_task,
    decode_team,
    decode_timeline,
    encode,
    encode_signals,
    encode_text,
    kind_of,
)

# --- strategies -------------------------------------------------------------------------

T = TypeVar("T")

offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
).map(timezone)
zones = st.one_of(st.just(UTC), offsets, st.timezones())


def _unambiguous(t: datetime) -> bool:
    # Python never equates a fold-dependent local time (a DST overlap or gap) with a
    # datetime in another zone (PEP 495), so `==` cannot check those; the instant is kept.
    return t.utcoffset() == t.replace(fold=1 - t.fold).utcoffset()


# Hypothesis bounds are naive local times; `timezones=` makes every value aware.
times = st.datetimes(
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=zones,
).filter(_unambiguous)
texts = st.text(max_size=12)
numbers = st.floats(allow_nan=False, allow_infinity=False)
keys = st.tuples(texts, texts)
stamps = st.dictionaries(texts, st.tuples(times, texts, texts), max_size=4)


def opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


def tuples_of(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, max_size=4).map(tuple)


def one_of_literal(literal: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(get_args(literal))


objectives = st.builds(
    Objective,
    id=st.text(min_size=1, max_size=12),
    kpi=one_of_literal(ObjectiveKpi),
    op=one_of_literal(ObjectiveOp),
    target=numbers,
)
releases = st.builds(
    Release,
    id=texts,
    name=opt(texts),
    target_date=opt(times),
    environment=opt(texts),
    services=tuples_of(texts),
    teams=tuples_of(texts),
    objectives=tuples_of(objectives),
    status=one_of_literal(ReleaseStatus),
    planned_at=opt(times),
    closed_at=opt(times),
    targets=tuples_of(st.tuples(times, times)),
    stamps=stamps,
)
tasks = st.builds(
    Task,
    id=texts,
    release=opt(texts),
    team=opt(texts),
    title=opt(texts),
    due=opt(times),
    kind=one_of_literal(TaskKind),
    owner=opt(texts),
    status=one_of_literal(TaskStatus),
    created_at=opt(times),
    started_at=opt(times),
    stamps=stamps,
)
teams = st.builds(
    Team, name=texts, first_activity=opt(times), last_activity=opt(times), events=st.integers()
)
samples = st.builds(
    Sample,
    time=times,
    ready_old=st.integers(),
    ready_new=st.integers(),
    desired=opt(st.integers()),
    key=keys,
)
rollouts = st.builds(
    Rollout,
    id=texts,
    service=opt(texts),
    environment=opt(texts),
    from_version=opt(texts),
    to_version=opt(texts),
    desired=opt(st.integers()),
    min_healthy_percent=numbers,
    started_at=opt(times),
    finished_at=opt(times),
    outcome=opt(one_of_literal(RolloutOutcome)),
    samples=tuples_of(samples),
    stamps=stamps,
)
incidents = st.builds(
    Incident,
    id=texts,
    service=opt(texts),
    environment=opt(texts),
    description=opt(texts),
    detected_at=opt(times),
    resolved_at=opt(times),
    stamps=stamps,
)
changes = st.builds(
    Change,
    id=texts,
    repository=opt(texts),
    created_at=opt(times),
    merged_at=opt(times),
    stamps=stamps,
)
artifacts = st.builds(Artifact, id=texts, changes=st.frozensets(texts), first_seen=opt(times))
signals = st.builds(
    Signal,
    time=times,
    key=keys,
    kind=st.sampled_from(SignalKind),
    version=opt(texts),
    artifact=opt(texts),
    ref=opt(texts),
    previous_version=opt(texts),
)
timelines = st.builds(Timeline, service=texts, environment=texts, signals=tuples_of(signals))
task_states = st.builds(
    TaskState,
    time=times,
    version=st.integers(),
    key=keys,
    last_status=texts,
    desired_status=opt(texts),
    health=opt(texts),
)
fleets = st.builds(
    Fleet,
    id=texts,
    cluster=texts,
    service=texts,
    deployments=st.dictionaries(
        texts,
        st.builds(
            FleetDeployment,
            id=texts,
            in_progress_at=opt(times),
            completed_at=opt(times),
            failed_at=opt(times),
            rollback_to=opt(texts),
            last_event_at=opt(times),
        ),
        max_size=3,
    ),
    tasks=st.dictionaries(
        texts,
        st.builds(
            FleetTask,
            arn=texts,
            deployment=opt(texts),
            version=opt(texts),
            started_at=opt(times),
            states=tuples_of(task_states),
        ),
        max_size=3,
    ),
    steady_at=tuples_of(times),
    followed_since=opt(times),
    last_event_at=opt(times),
)

Decoder = Callable[[Mapping[str, Any]], Entity]
CASES: dict[EntityKind, tuple[st.SearchStrategy[Entity], Decoder]] = {
    "release": (releases, decode_release),
    "task": (tasks, decode_task),
    "team": (teams, decode_team),
    "rollout": (rollouts, decode_rollout),
    "incident": (incidents, decode_incident),
    "change": (changes, decode_change),
    "artifact": (artifacts, decode_artifact),
    "timeline": (timelines, decode_timeline),
    "fleet": (fleets, decode_fleet),
}
KINDS = list(CASES)


# --- helpers ----------------------------------------------------------------------------


def exact(value: object) -> object:
    """A comparable form that keeps container types and every field (even compare=False),
    with datetimes as their instant: equal forms mean an exact round trip."""
    match value:
        case datetime():
            return ("datetime", value - datetime(1970, 1, 1, tzinfo=UTC))
        case Enum() | BaseModel():
            return (type(value), repr(value))
        case tuple() | list():
            return (type(value), [exact(v) for v in value])
        case frozenset() | set():
            return (type(value), frozenset(map(exact, value)))
        case Mapping():
            return (type(value), {k: exact(v) for k, v in value.items()})
        case float():
            return (float, value.hex())  # tells 0.0 from -0.0
        case _ if is_dataclass(value) and not isinstance(value, type):
            return (type(value), {f.name: exact(getattr(value, f.name)) for f in fields(value)})
    return (type(value), value)


def datetimes_in(value: object) -> list[datetime]:
    match value:
        case datetime():
            return [value]
        case tuple() | list() | frozenset():
            return [t for v in value for t in datetimes_in(v)]
        case Mapping():
            return datetimes_in(list(value.values()))
        case _ if is_dataclass(value) and not isinstance(value, type):
            return datetimes_in([getattr(value, f.name) for f in fields(value)])
    return []


def plain_json(value: object) -> bool:
    """Only the exact types `json.loads` gives back, no subclasses (enums) or tuples."""
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    if isinstance(value, dict):
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    return type(value) in (str, int, float, bool, type(None))


def round_trip(entity: Entity, decode: Decoder) -> Entity:
    return decode(json.loads(json.dumps(encode(entity), allow_nan=False)))


# --- round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)
@given(data=st.data())
def test_every_entity_survives_a_json_round_trip_exactly(
    kind: EntityKind, data: st.DataObject
) -> None:
    strategy, decode = CASES[kind]
    entity = data.draw(strategy)

    decoded = round_trip(entity, decode)

    assert decoded == entity
    assert exact(decoded) == exact(entity)
    assert kind_of(decoded) == kind


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)
@given(data=st.data())
def test_decoded_datetimes_are_aware_utc(kind: EntityKind, data: st.DataObject) -> None:
    strategy, decode = CASES[kind]

    decoded = round_trip(data.draw(strategy), decode)

    assert all(t.tzinfo is UTC for t in datetimes_in(decoded))


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)
@given(data=st.data())
def test_documents_are_plain_json_named_by_the_dataclass_fields(
    kind: EntityKind, data: st.DataObject
) -> None:
    entity = data.draw(CASES[kind][0])

    doc = encode(entity)

    json.dumps(doc, allow_nan=False)  # no default=: nothing needs a custom serialiser
    assert plain_json(doc)
    assert set(doc) == {"v"} | {f.name for f in fields(entity)}
    assert doc["v"] == 1


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)
@given(data=st.data())
def test_document_text_is_the_json_of_the_document(kind: EntityKind, data: st.DataObject) -> None:
    # encode_text writes the entity with orjson directly: it must be encode's document.
    entity = data.draw(CASES[kind][0])

    assert encode_text(entity) == fastjson.dumps_finite(encode(entity))


@settings(deadline=None)
@given(signals=tuples_of(signals))
def test_signals_text_is_the_json_of_their_documents_and_reads_back(
    signals: tuple[Signal, ...],
) -> None:
    # What a batch queues for the deriver: the signals as a timeline's document has them.
    text = encode_signals(signals)

    assert text == fastjson.dumps_finite(encode(Timeline("s", "e", signals))["signals"])
    assert exact(decode_signals(json.loads(text))) == exact(signals)


def _float_fields_within(cls: type) -> set[tuple[str, str]]:
    """(class, field) of every float-typed field of `cls` and the dataclasses its fields
    hold, however nested."""
    found: set[tuple[str, str]] = set()
    todo, seen = [cls], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for f, hint in get_type_hints(current).items():
            if f == "stamps":
                continue  # (datetime, str, str) tuples
            if "float" in str(hint):
                found.add((current.__name__, f))
            todo += [t for t in _types_in(hint) if is_dataclass(t)]
    return found


def _types_in(hint: Any) -> list[Any]:
    args = get_args(hint)
    return [hint] if not args else [t for a in args for t in _types_in(a)]


def test_every_float_field_of_an_entity_is_checked_before_orjson_writes_it() -> None:
    # orjson writes NaN as null: encode_text checks these fields for finiteness first.
    checked = {(cls.__name__, name) for cls, names in codec._FLOAT_FIELDS.items() for name in names}
    for cls in codec._KINDS:
        assert _float_fields_within(cls) <= checked, cls.__name__


@pytest.mark.parametrize(
    "entity",
    [
        Rollout("r1", min_healthy_percent=math.nan),
        Release("r1", objectives=(Objective(id="o", kpi="deployments", op=">=", target=math.inf),)),
    ],
)
def test_non_finite_number_is_refused_on_encode_text(entity: Entity) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode_text(entity)


def test_datetimes_are_stored_as_utc_iso_text_with_microseconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    team = Team("payments", first_activity=datetime(2024, 5, 1, 12, 0, tzinfo=plus_two))

    assert encode(team)["first_activity"] == "2024-05-01T10:00:00.000000+00:00"


def test_an_instant_written_before_in_another_zone_is_written_as_the_same_utc_text() -> None:
    # Datetime texts are remembered by value, and equal datetimes are the same instant.
    at_noon_utc = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    same_in_paris = at_noon_utc.astimezone(timezone(timedelta(hours=2)))
    first = encode_text(Team("payments", first_activity=at_noon_utc))
    again = encode_text(Team("payments", first_activity=same_in_paris))

    assert first == again
    assert json.loads(again)["first_activity"] == "2024-05-02T12:00:00.000000+00:00"


def test_datetime_written_with_another_offset_decodes_to_the_same_instant_in_utc() -> None:
    team = decode_team({"v": 1, "name": "payments", "first_activity": "2024-05-01T12:00:00+02:00"})

    assert team.first_activity == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert team.first_activity.tzinfo is UTC


def test_frozensets_are_stored_as_sorted_lists() -> None:
    artifact = Artifact("pkg", changes=frozenset({"c2", "c10", "c1"}))

    assert encode(artifact)["changes"] == ["c1", "c10", "c2"]


def test_signal_kind_is_stored_as_its_value() -> None:
    signal = Signal(datetime(2024, 1, 1, tzinfo=UTC), ("src", "e1"), SignalKind.ROLLOUT_FAILED)

    doc = encode(Timeline("checkout", "prod", (signal,)))

    assert doc["signals"][0]["kind"] == "rollout_failed"


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("version", [2, 0, "1", 1.0, True, None])
def test_unknown_format_version_is_rejected_naming_it(kind: EntityKind, version: object) -> None:
    decode = CASES[kind][1]
    doc = {"v": version, "id": "x", "name": "x", "service": "s", "environment": "e"}

    with pytest.raises(ValueError, match=f"unknown format version {version!r}"):
        decode(doc)


def test_document_without_a_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown format version None"):
        decode_release({"id": "r1"})


def test_naive_datetime_is_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        encode(Team("payments", first_activity=datetime(2024, 1, 1)))  # noqa: DTZ001
    for _ in range(2):  # every time: a refusal is not remembered as a text
        with pytest.raises(ValueError, match="naive datetime"):
            encode_text(Team("payments", first_activity=datetime(2024, 1, 1)))  # noqa: DTZ001


@pytest.mark.parametrize(
    "entity",
    [
        Rollout("r1", min_healthy_percent=math.nan),
        Release("r1", objectives=(Objective(id="o", kpi="deployments", op=">=", target=math.inf),)),
    ],
)
def test_non_finite_number_is_refused_on_encode(entity: Entity) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode(entity)


@pytest.mark.parametrize(
    ("decode", "doc", "field"),
    [
        (decode_task, {"v": 1, "id": "t1", "status": "finished"}, "task.status"),
        (decode_team, {"v": 1, "name": "payments", "events": True}, "team.events"),
        (decode_release, {"v": 1, "id": "r1", "targets": [["2024-01-01"]]}, "release.targets"),
        (decode_change, {"v": 1, "id": "c1", "merged_at": "2024-01-01T00:00:00"}, "merged_at"),
        (decode_incident, {"v": 1, "id": "i1", "stamps": {"x": ["t", "s"]}}, "stamps.x"),
        (decode_rollout, {"v": 1, "id": "r1", "samples": [{"time": "x"}]}, r"samples\[0\]"),
        (decode_artifact, {"v": 1}, "'id'"),
        (decode_release, {"v": 1, "id": "r1", "objectives": [{"id": "o"}]}, r"objectives\[0\]"),
    ],
)
def test_malformed_document_is_rejected_naming_the_field(
    decode: Decoder, doc: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        decode(doc)


# --- old documents ----------------------------------------------------------------------

T0 = "2024-03-01T09:30:00.000001+00:00"


@pytest.mark.parametrize(
    ("decode", "doc", "entity"),
    [
        (decode_release, {"v": 1, "id": "r1"}, Release("r1")),
        (decode_task, {"v": 1, "id": "t1"}, Task("t1")),
        (decode_team, {"v": 1, "name": "payments"}, Team("payments")),
        (decode_rollout, {"v": 1, "id": "r1"}, Rollout("r1")),
        (decode_incident, {"v": 1, "id": "i1"}, Incident("i1")),
        (decode_change, {"v": 1, "id": "c1"}, Change("c1")),
        (decode_artifact, {"v": 1, "id": "a1"}, Artifact("a1")),
        (decode_timeline, {"v": 1, "service": "s", "environment": "e"}, Timeline("s", "e")),
    ],
)
def test_document_missing_optional_fields_decodes_with_dataclass_defaults(
    decode: Decoder, doc: dict[str, Any], entity: Entity
) -> None:
    decoded = decode(doc)

    assert exact(decoded) == exact(entity)


def test_nested_sample_and_signal_missing_optional_fields_take_defaults() -> None:
    t0 = datetime.fromisoformat(T0)
    rollout = {"v": 1, "id": "r1", "samples": [{"time": T0, "ready_old": 1, "ready_new": 2}]}
    timeline = {
        "v": 1,
        "service": "s",
        "environment": "e",
        "signals": [{"time": T0, "key": ["src", "e1"], "kind": "deployed"}],
    }

    assert decode_rollout(rollout).samples == (Sample(t0, 1, 2),)
    assert exact(decode_timeline(timeline).signals) == exact(
        (Signal(t0, ("src", "e1"), SignalKind.DEPLOYED),)
    )


def test_null_optional_field_decodes_as_its_default() -> None:
    doc = {"v": 1, "id": "t1", "title": None, "stamps": None}

    assert exact(decode_task(doc)) == exact(Task("t1"))
