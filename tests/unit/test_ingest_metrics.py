"""`observe_all`: a batch's observations in one pass, as `observe` one at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from golive.metrics.ingest import LAG_BUCKETS, observe_all


def histogram() -> tuple[Histogram, CollectorRegistry]:
    registry = CollectorRegistry()
    return Histogram("lag_seconds", "lag", buckets=LAG_BUCKETS, registry=registry), registry


VALUES = st.lists(
    st.one_of(
        st.sampled_from([*LAG_BUCKETS, 0, -1.5, 1e9]),  # on a bound, below all, above all
        st.floats(min_value=-10, max_value=1e7, allow_nan=False),
        st.integers(min_value=-5, max_value=10**6),
    ),
    max_size=60,
)


@given(values=VALUES)
def test_observe_all_exposes_what_observing_each_value_exposes(values: list[float]) -> None:
    one_by_one, expected = histogram()
    for value in values:
        one_by_one.observe(value)
    at_once, actual = histogram()

    observe_all(at_once, values)

    assert observed(actual) == observed(expected)


def observed(registry: CollectorRegistry) -> list[str]:
    """The exposition's lines but the histogram's creation time."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


def test_observe_all_adds_to_what_was_observed_before() -> None:
    lag, registry = histogram()
    lag.observe(3)
    observe_all(lag, [0.01, 3, 7200])

    exposition = generate_latest(registry).decode()

    assert 'lag_seconds_bucket{le="0.05"} 1.0' in exposition
    assert 'lag_seconds_bucket{le="5.0"} 3.0' in exposition
    assert 'lag_seconds_bucket{le="+Inf"} 4.0' in exposition
    assert "lag_seconds_sum 7206.01" in exposition


def test_observe_all_refuses_a_histogram_with_labels_as_observe_does() -> None:
    labelled = Histogram("by_kind", "x", ["kind"], registry=CollectorRegistry())

    with pytest.raises(ValueError, match="missing label values"):
        observe_all(labelled, [1.0])
