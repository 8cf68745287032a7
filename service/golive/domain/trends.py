"""A report's headline figures: this period's value against the previous period's.

Pure: the values are computed elsewhere (from Postgres for reports); this module says
which way each figure should go and whether it went that way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Direction = Literal["up", "down", "flat", "new", "none"]
Unit = Literal["count", "per_day", "ratio", "seconds"]


@dataclass(frozen=True, slots=True)
class Headline:
    """What a headline figure measures and which way is better."""

    name: str
    unit: Unit
    higher_is_better: bool
    title: str


# The report's headline, in the order it is shown.
HEADLINES: tuple[Headline, ...] = (
    Headline("deployments", "count", True, "Deployments"),
    Headline("deployment_frequency", "per_day", True, "Deployment frequency"),
    Headline("lead_time_p50", "seconds", False, "Lead time for changes (median)"),
    Headline("lead_time_p90", "seconds", False, "Lead time for changes (90th percentile)"),
    Headline("change_failure_ratio", "ratio", False, "Change failure ratio"),
    Headline("recovery_time_p50", "seconds", False, "Failed deployment recovery time (median)"),
    Headline("rework_ratio", "ratio", False, "Rework ratio"),
    Headline("rollout_downtime", "seconds", False, "Rollout downtime"),
    Headline("rollout_degraded", "seconds", False, "Rollout degraded time"),
    Headline("tasks_done", "count", True, "Tasks done"),
    Headline("throughput", "per_day", True, "Throughput (tasks done per business day)"),
)

# Relative changes smaller than this are "flat": noise, not a trend worth a reader's eye.
FLAT_WITHIN = 0.02


@dataclass(frozen=True, slots=True)
class Trend:
    headline: Headline
    value: float | None
    previous: float | None
    direction: Direction
    improved: bool | None  # None when flat, new or without data

    @property
    def change(self) -> float | None:
        """Relative change from the previous period (0.25 = +25 %); None from zero or none."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)


def trend(headline: Headline, value: float | None, previous: float | None) -> Trend:
    """Compare a figure with the previous period's."""
    for figure in (value, previous):
        if figure is not None and not math.isfinite(figure):
            raise ValueError(f"{headline.name}: figures must be finite, got {figure}")
    if value is None:
        return Trend(headline, value, previous, "none", None)
    if previous is None:
        return Trend(headline, value, previous, "new", None)
    scale = max(abs(value), abs(previous))
    if scale == 0 or abs(value - previous) <= FLAT_WITHIN * scale:
        return Trend(headline, value, previous, "flat", None)
    went_up = value > previous
    return Trend(
        headline, value, previous, "up" if went_up else "down", went_up == headline.higher_is_better
    )


def headline_trends(
    current: dict[str, float | None], previous: dict[str, float | None]
) -> tuple[Trend, ...]:
    """Every headline figure, in report order; a figure missing from a period has no data."""
    unknown = (set(current) | set(previous)) - {h.name for h in HEADLINES}
    if unknown:
        raise ValueError(f"unknown headline figures: {', '.join(sorted(unknown))}")
    return tuple(trend(h, current.get(h.name), previous.get(h.name)) for h in HEADLINES)
