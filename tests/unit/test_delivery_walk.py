"""Going on with a derivation from where it stopped gives what deriving it all gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.domain.delivery import (
    SignalChanges,
    continue_walk,
    derive_walked,
    signal_changes,
    signal_versions,
)
from golive.domain.model import Incident, Rollout, Signal, SignalKind, Timeline
from golive.domain.state import State

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
VERSIONS = st.sampled_from(["1.0", "1.1", "1.2", "2.0"])


@st.composite
def signals(draw: st.DrawFn) -> list[Signal]:
    count = draw(st.integers(0, 30))
    made = []
    for n in range(count):
        kind = draw(st.sampled_from(list(SignalKind)))
        time = T0 + timedelta(minutes=draw(st.integers(0, 40)))
        ref = draw(st.sampled_from(["inc-1", "inc-2", "r-1"]))
        made.append(
            Signal(
                time,
                ("test", f"s{n}"),
                kind,
                version=draw(VERSIONS) if kind is not SignalKind.INCIDENT else None,
                ref=ref,
                previous_version=draw(st.none() | VERSIONS),
            )
        )
    return sorted(made)


@settings(deadline=None, max_examples=300)
@given(all_signals=signals(), data=st.data())
def test_a_walk_continued_after_any_signal_ends_as_the_whole_walk(
    all_signals: list[Signal], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(all_signals)))
    before, after = all_signals[:cut], all_signals[cut:]
    whole, whole_walked = derive_walked(Timeline("checkout", "prod", tuple(all_signals)))
    start, walked = derive_walked(Timeline("checkout", "prod", tuple(before)))

    wanted = signal_versions(walked, after)
    deployed = {d.version: d for d in start.deployments if d.version in wanted}
    changed, recoveries, walked_on = continue_walk("checkout", "prod", walked, deployed, after)

    deployments = {d.version: d for d in start.deployments} | {d.version: d for d in changed}
    assert deployments == {d.version: d for d in whole.deployments}
    stored = {r.started_at: r for r in start.recoveries}
    for recovery in recoveries:
        stored[recovery.started_at] = recovery
    assert stored == {r.started_at: r for r in whole.recoveries}
    assert walked_on == whole_walked


def test_a_signal_before_the_last_one_walked_is_refused() -> None:
    first = Signal(T0, ("test", "a"), SignalKind.DEPLOYED, version="1.0")
    _, walked = derive_walked(Timeline("checkout", "prod", (first,)))
    earlier = Signal(T0 - timedelta(minutes=1), ("test", "b"), SignalKind.DEPLOYED, version="0.9")
    with pytest.raises(ValueError, match="after the last one walked"):
        continue_walk("checkout", "prod", walked, {}, [earlier])


def _changes(before: State, after: State, **touched: set[Any]) -> dict[Any, SignalChanges]:
    return signal_changes(before, after, touched)


def test_a_rollout_making_progress_changes_no_signal() -> None:
    started = Rollout("r1", "checkout", "prod", "1.0", "1.1", started_at=T0)
    progressed = replace(started, last_event_at=T0 + timedelta(minutes=1))
    changes = _changes(
        State(rollouts={"r1": started}), State(rollouts={"r1": progressed}), rollouts={"r1"}
    )
    assert changes == {}


def test_a_rollout_finishing_adds_its_signal_to_its_pair() -> None:
    started = Rollout("r1", "checkout", "prod", "1.0", "1.1", started_at=T0)
    finished = replace(started, outcome="succeeded", finished_at=T0 + timedelta(minutes=3))
    changes = _changes(
        State(rollouts={"r1": started}), State(rollouts={"r1": finished}), rollouts={"r1"}
    )
    [(pair, change)] = changes.items()
    assert pair == ("checkout", "prod")
    assert [(s.kind, s.version) for s in change.added] == [(SignalKind.DEPLOYED, "1.1")]
    assert not change.removed


def test_an_incident_moved_to_another_service_leaves_its_first_pair_to_derive_whole() -> None:
    first = Incident("i1", "checkout", "prod", detected_at=T0)
    moved = replace(first, service="search")
    changes = _changes(
        State(incidents={"i1": first}), State(incidents={"i1": moved}), incidents={"i1"}
    )
    assert changes[("checkout", "prod")].removed
    assert [s.ref for s in changes[("search", "prod")].added] == ["i1"]


def test_a_deployment_appended_to_a_timeline_is_an_addition() -> None:
    old = Signal(T0, ("ci", "e1"), SignalKind.DEPLOYED, version="1.0")
    new = Signal(T0 + timedelta(hours=1), ("ci", "e2"), SignalKind.DEPLOYED, version="1.1")
    before = Timeline("checkout", "prod", (old,))
    after = before.with_signal(new)
    key = ("checkout", "prod")
    changes = _changes(
        State(timelines={key: before}), State(timelines={key: after}), timelines={key}
    )
    assert changes == {key: SignalChanges((new,), removed=False)}
