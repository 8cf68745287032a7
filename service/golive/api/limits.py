"""The event rate limit of `POST /api/v1/events`: a token bucket, per instance."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class EventRateLimit:
    """Admits up to `per_second` events a second, with a burst of one second's worth.

    A request larger than the burst is admitted when the bucket is full and leaves it in
    debt, so a big batch is never refused for ever; the requests after it wait.
    `per_second <= 0` admits everything.
    """

    def __init__(self, per_second: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_second
        self._monotonic = monotonic
        self._tokens = per_second
        self._at = monotonic()

    def admit(self, events: int) -> float | None:
        """None if `events` may go now; else the seconds to wait (for `Retry-After`)."""
        if self._rate <= 0:
            return None
        now = self._monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
        self._at = now
        needed = min(events, self._rate)
        if self._tokens >= needed:
            self._tokens -= events
            return None
        return (needed - self._tokens) / self._rate

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
