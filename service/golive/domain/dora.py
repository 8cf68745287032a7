"""The DORA keys over a time window, per service and environment (DESIGN section 9).

A window is `(now - length, now]` in event time. Deployments count by their deployment
time, recoveries by their restore time, lead times by the deployment that shipped them.
Quantiles use the nearest-rank method, so a reported p50 is always an observed value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from golive.domain.delivery import Delivery, Deployment, Recovery, deliveries, delivery_of
from golive.domain.state import State

WINDOWS: dict[str, timedelta] = {"7d": timedelta(days=7), "30d": timedelta(days=30)}


def quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile (`q` in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class DoraFigures:
    service: str
    environment: str
    window: timedelta
    deployments: int
    failed_deployments: int
    rework_deployments: int
    lead_times: tuple[float, ...]  # seconds, one per change shipped in the window
    recovery_times: tuple[float, ...]  # seconds, one per recovery restored in the window

    @property
    def deployment_frequency_per_day(self) -> float:
        return self.deployments / (self.window.total_seconds() / 86400)

    @property
    def change_failure_ratio(self) -> float | None:
        return self.failed_deployments / self.deployments if self.deployments else None

    @property
    def rework_ratio(self) -> float | None:
        return self.rework_deployments / self.deployments if self.deployments else None

    def lead_time(self, q: float) -> float | None:
        return quantile(self.lead_times, q)

    def recovery_time(self, q: float) -> float | None:
        return quantile(self.recovery_times, q)


def _in_window(time: datetime | None, start: datetime, end: datetime) -> bool:
    return time is not None and start < time <= end


def lead_times(
    state: State, deployments: Iterable[Deployment]
) -> dict[str, tuple[datetime, float]]:
    """For each change shipped by `deployments`: when it first shipped, and its lead time.

    Lead time runs from the change's start (created, else merged, whichever is earlier)
    to the first completed deployment whose artifact carries the change.
    """
    first_shipped: dict[str, datetime] = {}
    for deployment in deployments:
        if not deployment.completed or deployment.artifact is None:
            continue
        artifact = state.artifacts.get(deployment.artifact)
        for change_id in artifact.changes if artifact else ():
            shipped = first_shipped.get(change_id)
            if shipped is None or deployment.deployed_at < shipped:
                first_shipped[change_id] = deployment.deployed_at
    result: dict[str, tuple[datetime, float]] = {}
    for change_id, shipped in first_shipped.items():
        change = state.changes.get(change_id)
        started = change.started_at if change else None
        if started is not None and started <= shipped:
            result[change_id] = (shipped, (shipped - started).total_seconds())
    return result


def figures(
    deployments: Iterable[Deployment],
    recoveries: Iterable[Recovery],
    shipped: Iterable[tuple[datetime, float]],
    *,
    service: str,
    environment: str,
    window: timedelta,
    now: datetime,
) -> DoraFigures:
    """DORA figures over `(now - window, now]` of deployments, recoveries and changes
    shipped (`(first deployment time, lead time seconds)` per change)."""
    start = now - window
    in_window = [d for d in deployments if _in_window(d.deployed_at, start, now)]
    restored = [
        r.seconds
        for r in recoveries
        if r.seconds is not None and _in_window(r.restored_at, start, now)
    ]
    return DoraFigures(
        service=service,
        environment=environment,
        window=window,
        deployments=len(in_window),
        failed_deployments=sum(d.outcome == "failed" for d in in_window),
        rework_deployments=sum(d.rework for d in in_window),
        lead_times=tuple(
            sorted(s for shipped_at, s in shipped if _in_window(shipped_at, start, now))
        ),
        recovery_times=tuple(sorted(restored)),
    )


def delivery_figures(
    state: State, delivery: Delivery, window: timedelta, now: datetime
) -> DoraFigures:
    """DORA figures of one derived delivery history over `(now - window, now]`."""
    return figures(
        delivery.deployments,
        delivery.recoveries,
        lead_times(state, delivery.deployments).values(),
        service=delivery.service,
        environment=delivery.environment,
        window=window,
        now=now,
    )


def dora(
    state: State, service: str, environment: str, window: timedelta, now: datetime
) -> DoraFigures:
    """DORA figures of one (service, environment) over `(now - window, now]`."""
    return delivery_figures(state, delivery_of(state, service, environment), window, now)


def dora_all(state: State, window: timedelta, now: datetime) -> list[DoraFigures]:
    """DORA figures of every (service, environment) with a deployment, rollout or incident."""
    return [delivery_figures(state, d, window, now) for d in deliveries(state).values()]
