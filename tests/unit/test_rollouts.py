"""Rollout downtime and degraded time (DESIGN section 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from golive.domain.rollouts import availability, is_stuck, minimum_healthy
from golive.domain.state import State, apply_all
from tests.unit.events import at, rollout


def started(
    rollout_id: str = "r1", minute: float = 0, desired: int = 4, min_healthy: float = 50
) -> object:
    return rollout(
        "started",
        rollout_id,
        time=at(minute),
        service="checkout",
        environment="prod",
        fromVersion="1.0",
        toVersion="1.1",
        desiredInstances=desired,
        minHealthyPercent=min_healthy,
    )


def progressed(minute: float, old: int, new: int, rollout_id: str = "r1"):  # type: ignore[no-untyped-def]
    return rollout("progressed", rollout_id, time=at(minute), readyOld=old, readyNew=new)


def finished(minute: float, outcome: str = "succeeded", rollout_id: str = "r1"):  # type: ignore[no-untyped-def]
    return rollout("finished", rollout_id, time=at(minute), outcome=outcome)


def state_of(*events: object) -> State:
    return apply_all(events)  # type: ignore[arg-type]


def test_rollout_with_no_ready_instance_counts_downtime() -> None:
    state = state_of(
        started(),
        progressed(1, 2, 0),  # 2 ready: degraded? min healthy = ceil(4*50%) = 2 -> not degraded
        progressed(2, 0, 0),  # nothing ready: downtime for 30 s
        progressed(2.5, 0, 1),  # 1 ready: degraded for 1.5 min
        progressed(4, 0, 4),
        finished(5),
    )
    result = availability(state.rollouts["r1"], at(60))
    assert result is not None
    assert result.duration == 300
    assert result.downtime == 30
    assert result.degraded == 30 + 90  # below 2 ready, downtime included
    assert result.finished


def test_rollout_that_never_drops_below_the_minimum_costs_nothing() -> None:
    state = state_of(
        started(), progressed(1, 3, 1), progressed(2, 2, 2), progressed(3, 0, 4), finished(4)
    )
    result = availability(state.rollouts["r1"], at(60))
    assert result is not None
    assert (result.downtime, result.degraded) == (0, 0)


def test_in_progress_rollout_is_measured_up_to_now() -> None:
    state = state_of(started(), progressed(1, 0, 0))
    result = availability(state.rollouts["r1"], at(3))
    assert result is not None
    assert (result.duration, result.downtime, result.finished) == (180, 120, False)


def test_samples_delivered_out_of_order_give_the_same_result() -> None:
    events = [started(), progressed(1, 2, 0), progressed(2, 0, 0), progressed(3, 0, 4), finished(4)]
    forward = availability(state_of(*events).rollouts["r1"], at(10))
    backward = availability(state_of(*reversed(events)).rollouts["r1"], at(10))
    assert forward == backward
    assert forward is not None
    assert forward.downtime == 60


def test_samples_after_the_finish_are_ignored() -> None:
    state = state_of(started(), finished(2), progressed(3, 0, 0))
    result = availability(state.rollouts["r1"], at(10))
    assert result is not None
    assert result.downtime == 0


def test_desired_count_change_moves_the_minimum() -> None:
    state = state_of(
        started(desired=2, min_healthy=100),
        rollout("progressed", "r1", time=at(1), readyOld=1, readyNew=1, desiredInstances=4),
        finished(2),
    )
    result = availability(state.rollouts["r1"], at(10))
    assert result is not None
    assert result.degraded == 60  # 2 ready < 4 after the scale-up


def test_rollout_without_start_has_no_measure_yet() -> None:
    assert availability(state_of(progressed(1, 0, 0)).rollouts["r1"], at(5)) is None


@pytest.mark.parametrize(
    ("desired", "percent", "minimum"), [(4, 50, 2), (3, 50, 2), (4, 100, 4), (5, 0, 0), (1, 1, 1)]
)
def test_minimum_healthy_rounds_up(desired: int, percent: float, minimum: int) -> None:
    assert minimum_healthy(desired, percent) == minimum


def test_rollout_without_progress_for_longer_than_the_threshold_is_stuck() -> None:
    state = state_of(started(), progressed(10, 2, 2))
    r = state.rollouts["r1"]
    assert not is_stuck(r, timedelta(minutes=30), at(39))
    assert is_stuck(r, timedelta(minutes=30), at(41))
    done = state_of(started(), finished(1)).rollouts["r1"]
    assert not is_stuck(done, timedelta(minutes=30), at(120))
