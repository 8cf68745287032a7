"""`evolve`, the reducers' copy of an entity: `dataclasses.replace`'s result, faster."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from golive.domain.model import Rollout, Sample, Task, Team, Timeline, evolve
from golive.domain.state import State

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STAMP = (T0, "/ci", "e1")


@pytest.mark.parametrize(
    ("entity", "changes"),
    [
        (Rollout("r1", service="api", stamps={"service": STAMP}), {"last_event_at": T0}),
        (Rollout("r1", samples=(Sample(T0, 1, 0),)), {"samples": (), "outcome": "failed"}),
        (Task("t1", team="core"), {"status": "done", "team": None}),
        (Timeline("api", "prod"), {"signals": ()}),
        (Team("core", T0, T0, 3), {"events": 4}),
        (State(), {"event_counts": {"ticket.created": 1}}),
    ],
)
def test_evolve_gives_what_replace_gives(entity: object, changes: dict[str, object]) -> None:
    copy = evolve(entity, **changes)

    assert copy == dataclasses.replace(entity, **changes)  # type: ignore[type-var]
    assert type(copy) is type(entity)
    assert copy is not entity
    for name, value in changes.items():
        assert getattr(copy, name) is value


def test_evolve_leaves_the_original_as_it_was() -> None:
    task = Task("t1", status="todo", stamps={"status": STAMP})

    evolve(task, status="done")

    assert task.status == "todo"
    assert task.stamps == {"status": STAMP}


def test_an_evolved_entity_is_still_frozen() -> None:
    copy = evolve(Task("t1"), status="done")

    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.status = "todo"  # type: ignore[misc]


def test_evolve_refuses_a_field_the_entity_does_not_have() -> None:
    with pytest.raises(TypeError, match="Task has no field colour, size"):
        evolve(Task("t1"), size=3, colour="red")


def test_evolve_refuses_a_class_it_cannot_copy_faithfully() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        a: int
        b: int

    with pytest.raises(TypeError, match="frozen slotted dataclasses"):
        evolve(Unslotted(1, 2), a=3)
