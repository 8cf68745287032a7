"""Ingest metrics, exported by every instance."""

from __future__ import annotations

import bisect
import contextlib
from collections import Counter as Tally
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from golive.contract import RejectionKind
from golive.contract.types import metric_type_label
from golive.metrics import names

# Event lag: from event time to applied. Seconds for live events, days for backfills.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400, 604800)
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
# The answers of POST /api/v1/events (a bounded label set; anything else is "other").
API_STATUSES = ("202", "400", "401", "403", "413", "415", "429", "503", "other")


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            names.EVENTS_TOTAL,
            "Events consumed, by type (subject.predicate; `other` for unknown types) and "
            "outcome: applied, duplicate or dead_lettered.",
            ["type", "outcome"],
            registry=registry,
        )
        self.event_lag = Histogram(
            names.EVENT_LAG_SECONDS,
            "Seconds from an event's time to its state being committed.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.batch_duration = Histogram(
            names.BATCH_DURATION_SECONDS,
            "Seconds to store and commit one consumer batch "
            "(decoded while the one before was written).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            names.BATCH_SIZE_EVENTS,
            "Records per consumer batch.",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.consumer_lag = Gauge(
            names.CONSUMER_LAG_MESSAGES,
            "Records not yet consumed, by topic and partition (high watermark - position).",
            ["topic", "partition"],
            registry=registry,
        )
        self.dead_letters = Counter(
            names.DEAD_LETTERS_TOTAL,
            "Records sent to the dead-letter topic, by rejection kind.",
            ["reason"],
            registry=registry,
        )
        self.errors = Counter(
            names.INGEST_ERRORS_TOTAL,
            "Batch attempts that failed and will be retried, by component (database, broker).",
            ["component"],
            registry=registry,
        )
        self.offset_resets = Counter(
            names.OFFSET_RESETS_TOTAL,
            "Partitions found on a new log (the broker lost it or the topic was recreated), "
            "read again from their beginning.",
            ["topic"],
            registry=registry,
        )
        self.refolds = Counter(
            names.BATCH_REFOLDS_TOTAL,
            "Batches folded again in their transaction: an entity they were folded onto "
            "had changed (another instance wrote it), or an event was stored already.",
            registry=registry,
        )
        self.api_requests = Counter(
            names.API_EVENT_REQUESTS_TOTAL,
            "POST /api/v1/events requests, by HTTP status (202 accepted, 400 rejected, "
            "401/403 refused, 413, 415, 429 over the rate, 503 broker unavailable).",
            ["status"],
            registry=registry,
        )
        self.api_events = Counter(
            names.API_EVENTS_TOTAL,
            "Events in POST /api/v1/events requests, by HTTP status of the answer (202: "
            "produced to the events topic; 400: a batch with a rejected event, none produced).",
            ["status"],
            registry=registry,
        )
        self.ready = Gauge(
            names.READY, "1 when this instance is connected and consuming.", registry=registry
        )

        # Every series exists from the start at 0, so increase() sees the first event.
        for kind in RejectionKind:
            self.dead_letters.labels(str(kind))
        for component in ("database", "broker"):
            self.errors.labels(component)
        for status in API_STATUSES:
            self.api_requests.labels(status)
            self.api_events.labels(status)

    def observe_api(self, status: int, events: int) -> None:
        label = str(status) if str(status) in API_STATUSES else "other"
        self.api_requests.labels(label).inc()
        self.api_events.labels(label).inc(events)

    def count(self, by_name: Mapping[str, int], outcome: str) -> None:
        for name, n in by_name.items():
            self.events.labels(metric_type_label(name), outcome).inc(n)

    def observe_lags(self, lags: Sequence[float]) -> None:
        """`event_lag.observe(lag)` for each lag of a batch, in one pass."""
        observe_all(self.event_lag, lags)

    def set_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic, str(partition)).set(lag)

    def forget_partitions(self, partitions: list[tuple[str, int]]) -> None:
        """Drop lag series of partitions this instance no longer owns."""
        for topic, partition in partitions:
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(topic, str(partition))


def observe_all(histogram: Histogram, values: Sequence[float]) -> None:
    """`histogram.observe(v)` for each of `values`: each bucket and the sum incremented
    once, where `observe` takes its lock and walks the buckets for every value (1.2 µs,
    against 0.16 here, for the lag of every event of a batch: docs/performance.md,
    eleventh round). It writes the child's buckets as `observe` does; a test holds the
    exposition of both equal, for the client version installed. No value may be NaN."""
    # As `observe`: a parent of labelled children has no buckets of its own.
    histogram._raise_if_not_observable()  # type: ignore[no-untyped-call]
    if not values:
        return
    bounds = histogram._upper_bounds
    buckets = histogram._buckets
    for index, count in Tally(bisect.bisect_left(bounds, v) for v in values).items():
        buckets[index].inc(count)
    histogram._sum.inc(sum(values))
