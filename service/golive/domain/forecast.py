"""Release completion forecast: when will the open tasks be done, given the team's throughput.

Rules:

- **Throughput history.** The samples are the number of tasks completed on each of the
  last `HISTORY_BUSINESS_DAYS` business days before today (oldest first), on the team
  calendar. Today is left out because it is not over. A completion is counted on its
  local date if that is a business day; a completion on a weekend or holiday counts
  toward the next business day, so the Saturday before a Monday in the window counts on
  that Monday. If that next business day is today or later, the completion is not in the
  history yet; it will be once the day is over.
- **Nothing remaining:** basis ``complete``, p50 = p85 = now.
- **No history:** no samples, or only zeros: basis ``no_history``, p50 = p85 = None. A
  forecast needs some completed work in the history window; the risk is unknown.
- **Otherwise** a Monte Carlo simulation of `TRIALS` trials. Each trial walks the
  business days from now (today counts as a full day while its work hours are not over)
  and, for each day, draws one sample uniformly with replacement from the history, until
  the tasks done reach the remaining count. The trial completes at the end of the work
  hours of that day. p50 and p85 are nearest-rank percentiles of the trials' completion
  days: the first day by which at least 50 % (85 %) of the trials are done, so each is a
  day some trial actually finished on. Basis ``throughput``.
- **Beyond the horizon.** Trials are simulated for at most `HORIZON_BUSINESS_DAYS`
  business days. If the p85 day is not reached within it, basis ``beyond_horizon`` and
  p85 = None; p50 is None too if it is not reached either.
- **Deterministic.** The random generator is seeded with `SEED`, so the same inputs give
  the same forecast (with the same numpy version).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Literal

from golive.domain.calendar import Calendar

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Basis = Literal["complete", "throughput", "no_history", "beyond_horizon"]

HISTORY_BUSINESS_DAYS = 20
TRIALS = 10_000
SEED = 20261124
HORIZON_BUSINESS_DAYS = 520

# Business days simulated per step: small enough that the (trials x days) matrices stay
# in cache, large enough that the per-step numpy overhead does not matter.
_CHUNK_DAYS = 64
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the remaining tasks should be done; `trials` is 0 when nothing was simulated."""

    remaining: int
    p50: datetime | None
    p85: datetime | None
    basis: Basis
    history: tuple[int, ...]
    trials: int


def daily_throughput(
    done_at: Iterable[datetime],
    calendar: Calendar,
    now: datetime,
    days: int = HISTORY_BUSINESS_DAYS,
) -> tuple[int, ...]:
    """Tasks completed on each of the `days` business days before today, oldest first."""
    return throughput_of_days(Counter(calendar.local_date(i) for i in done_at), calendar, now, days)


def throughput_of_days(
    done_on: Mapping[date, int],
    calendar: Calendar,
    now: datetime,
    days: int = HISTORY_BUSINESS_DAYS,
) -> tuple[int, ...]:
    """`daily_throughput` from completions already counted per local date (in the
    calendar's zone), as SQL can count them."""
    window = calendar.business_days_before(now, days)
    if not window:
        return ()
    counts = dict.fromkeys(window, 0)
    last = window[-1]
    for day, n in done_on.items():
        # A weekend or holiday completion belongs to the next business day. Stopping past
        # the window bounds the walk; such a completion is not counted anyway.
        while day <= last and not calendar.is_business_day(day):
            day += _ONE_DAY
        if day in counts:
            counts[day] += n
    return tuple(counts.values())


def forecast_completion(
    remaining: int,
    throughput: Sequence[int],
    calendar: Calendar,
    now: datetime,
    *,
    trials: int = TRIALS,
    seed: int = SEED,
    horizon: int = HORIZON_BUSINESS_DAYS,
) -> Forecast:
    """Forecast when `remaining` tasks will be done, from daily throughput samples."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now!r}")
    history = tuple(operator.index(sample) for sample in throughput)
    if remaining < 0:
        raise ValueError(f"remaining must be >= 0, got {remaining}")
    if any(sample < 0 for sample in history):
        raise ValueError(f"throughput samples must be >= 0, got {history}")
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 business day, got {horizon}")

    if remaining == 0:
        at = now.astimezone(UTC)
        return Forecast(remaining, at, at, "complete", history, trials=0)
    if not any(history):
        return Forecast(remaining, None, None, "no_history", history, trials=0)

    finish = _simulate(remaining, history, trials=trials, seed=seed, horizon=horizon)
    p50, p85 = _nearest_rank(finish, 50), _nearest_rank(finish, 85)
    reached = [index for index in (p50, p85) if index < horizon]
    days = list(islice(calendar.business_days_from(now), max(reached, default=-1) + 1))

    def completion(index: int) -> datetime | None:
        return calendar.end_of_business_day(days[index]) if index < horizon else None

    basis: Basis = "throughput" if p85 < horizon else "beyond_horizon"
    return Forecast(remaining, completion(p50), completion(p85), basis, history, trials)


def _simulate(
    remaining: int, history: tuple[int, ...], *, trials: int, seed: int, horizon: int
) -> npt.NDArray[np.int64]:
    """Each trial's completion day index (0 = first business day); `horizon` if not done."""
    # Imported on the first forecast, in the leader: numpy is 16 MiB of every process
    # that imports it, and ingest, which imports this module, never forecasts.
    import numpy as np

    rng = np.random.default_rng(seed)
    samples = np.asarray(history, dtype=np.int64)
    finish = np.full(trials, horizon, dtype=np.int64)
    done = np.zeros(trials, dtype=np.int64)
    active = np.arange(trials)
    day = 0
    while active.size and day < horizon:
        width = min(_CHUNK_DAYS, horizon - day)
        draws = samples[rng.integers(0, samples.size, size=(active.size, width))]
        totals = np.cumsum(draws, axis=1)
        totals += done[active, None]
        reached = totals[:, -1] >= remaining
        # Totals never decrease, so the days still short of `remaining` come first.
        finish[active[reached]] = day + (totals[reached] < remaining).sum(axis=1)
        done[active] = totals[:, -1]
        active = active[~reached]
        day += width
    return finish


def _nearest_rank(values: npt.NDArray[np.int64], percent: int) -> int:
    """The smallest value with at least `percent` % of `values` at or below it."""
    import numpy as np

    rank = -(-percent * values.size // 100)  # ceil without floats
    return int(np.partition(values, rank - 1)[rank - 1])
