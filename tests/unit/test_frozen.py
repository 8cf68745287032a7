"""`golive.frozen`: what the dataclass's own `__init__` and `dataclasses.replace` build,
faster."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from golive.contract import Event, decode_record
from golive.contract.event import new_event
from golive.frozen import constructor, copier
from tests.conftest import conformance_files


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    label: str | None = None


def test_it_builds_what_the_class_builds_and_the_instance_stays_frozen() -> None:
    new_point = constructor(Point)

    point = new_point(1, 2, "a")

    assert type(point) is Point
    assert point == Point(1, 2, "a")
    assert hash(point) == hash(Point(1, 2, "a"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]


def test_every_field_is_required_and_positional() -> None:
    new_point = constructor(Point)

    with pytest.raises(TypeError):
        new_point(1, 2)  # no defaults: the hot path names every field
    with pytest.raises(TypeError):
        new_point(1, 2, "a", "extra")


@dataclasses.dataclass(frozen=True)
class Unslotted:
    x: int
    y: int


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    x: int
    y: int

    def __post_init__(self) -> None:
        if self.x > self.y:
            raise ValueError("x > y")


@dataclasses.dataclass(frozen=True, slots=True)
class Derived:
    x: int
    y: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass(frozen=True, slots=True)
class Clashing:
    self: int
    other: int


@dataclasses.dataclass(frozen=True, slots=True)
class Single:
    only: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Labelled(Point):
    colour: str = "red"


class Plain(Point):
    """Not a dataclass of its own: Point's slots hold its fields, but it has a __dict__."""


def test_inherited_fields_are_set_through_the_slots_that_hold_them() -> None:
    labelled = constructor(Labelled)(1, 2, "a", "blue")

    assert labelled == Labelled(1, 2, "a", "blue")
    assert copier(Labelled)(labelled, {"x": 5, "colour": "green"}) == Labelled(5, 2, "a", "green")


@pytest.mark.parametrize("cls", [Unslotted, Checked, Derived, Clashing, Plain, int])
def test_it_refuses_what_it_could_not_build_faithfully(cls: type) -> None:
    with pytest.raises(TypeError):
        constructor(cls)
    with pytest.raises(TypeError):
        copier(cls)


@pytest.mark.parametrize(
    ("instance", "changes"),
    [
        (Point(1, 2, "a"), {}),
        (Point(1, 2, "a"), {"y": 5}),
        (Point(1, 2, "a"), {"label": None, "x": 0}),
        (Single((1, 2)), {"only": ()}),
    ],
)
def test_a_copy_is_what_replace_makes_and_leaves_the_original(
    instance: object, changes: dict[str, object]
) -> None:
    before = dataclasses.replace(instance)  # type: ignore[type-var]

    copy = copier(type(instance))(instance, dict(changes))

    assert copy == dataclasses.replace(instance, **changes)  # type: ignore[type-var]
    assert copy is not instance
    assert type(copy) is type(instance)
    assert instance == before
    for name, value in changes.items():
        assert getattr(copy, name) is value


def test_a_copy_refuses_a_change_to_a_field_the_class_does_not_have() -> None:
    with pytest.raises(TypeError, match="Point has no field colour, z"):
        copier(Point)(Point(1), {"x": 2, "z": 3, "colour": "red"})


@pytest.mark.parametrize(
    "path", conformance_files(), ids=lambda p: f"{p.parent.parent.name}/{p.stem}"
)
def test_the_decoders_events_equal_those_the_class_builds(path: Path) -> None:
    event = decode_record(path.read_bytes())
    assert isinstance(event, Event), event

    values = [getattr(event, f.name) for f in dataclasses.fields(Event)]
    rebuilt = Event(*values)

    assert event == rebuilt
    assert event.raw == rebuilt.raw
    assert new_event(*values) == rebuilt
