"""What a rollout costs in availability (DESIGN section 9).

Between `started` and `finished` (or `now` while in progress) each `progressed` sample
holds until the next one. Before the first sample the old version is assumed fully
ready (`desired` instances): a rollout starts from a healthy service. *Downtime* is the
time with no ready instance at all; *degraded* time is the time with fewer ready
instances than `ceil(desired * minHealthyPercent / 100)`, downtime included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from golive.domain.model import Rollout


@dataclass(frozen=True, slots=True)
class Availability:
    rollout_id: str
    duration: float  # seconds from start to finish (or now)
    downtime: float  # seconds with no ready instance
    degraded: float  # seconds below the minimum healthy count (downtime included)
    finished: bool


def minimum_healthy(desired: int, min_healthy_percent: float) -> int:
    return math.ceil(desired * min_healthy_percent / 100)


def availability(rollout: Rollout, now: datetime) -> Availability | None:
    """Duration, downtime and degraded time; None until the rollout's start is known."""
    start = rollout.started_at
    if start is None:
        return None
    end = rollout.finished_at if rollout.finished_at is not None else max(now, start)
    if rollout.desired is None and not rollout.samples:
        # Nothing says how many instances there were (an ECS rollout golive could not
        # measure, `domain.ecs`): a duration, and no availability figures.
        duration = (end - start).total_seconds()
        return Availability(rollout.id, duration, 0.0, 0.0, rollout.finished_at is not None)
    desired = rollout.desired or 0
    ready = desired  # healthy before the first sample
    cursor = start
    downtime = degraded = 0.0

    def account(until: datetime) -> None:
        nonlocal downtime, degraded
        span = (min(until, end) - cursor).total_seconds()
        if span <= 0:
            return
        if ready == 0:
            downtime += span
        if ready < minimum_healthy(desired, rollout.min_healthy_percent):
            degraded += span

    for sample in rollout.samples:
        if sample.time > end:
            break
        if sample.time > cursor:
            account(sample.time)
            cursor = sample.time
        ready = sample.ready
        if sample.desired is not None:
            desired = sample.desired
    account(end)
    return Availability(
        rollout_id=rollout.id,
        duration=(end - start).total_seconds(),
        downtime=downtime,
        degraded=degraded,
        finished=rollout.finished_at is not None,
    )


def last_progress(rollout: Rollout) -> datetime | None:
    """The latest sign of life of a rollout: its start or its newest sample."""
    times = [s.time for s in rollout.samples]
    if rollout.started_at is not None:
        times.append(rollout.started_at)
    return max(times) if times else None


def is_stuck(rollout: Rollout, stuck_after: timedelta, now: datetime) -> bool:
    """In progress with no progress reported for longer than `stuck_after`."""
    last = last_progress(rollout)
    return rollout.in_progress and last is not None and now - last > stuck_after
