"""The state metrics rendered from a snapshot: the latest-rollout gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from golive.domain.snapshot import KpiSnapshot, RolloutRow
from golive.metrics.kpis import KpiCollector, render_state

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _samples(snapshot: KpiSnapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    collector = KpiCollector()
    collector.publish(snapshot)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(collector.rendered.decode())
        for s in family.samples
        if s.name.startswith("golive_rollout_latest_")
    }


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_the_latest_rollouts_are_one_series_each_named_by_id_and_version() -> None:
    finished = RolloutRow(
        "r-7", "checkout", "prod", "1.4.2", NOW - timedelta(minutes=10),
        NOW - timedelta(minutes=6), NOW - timedelta(minutes=5), "rolledback", 12.5, 40.0,
    )  # fmt: skip
    running = RolloutRow(
        "r-8", "search", "prod", None, NOW - timedelta(seconds=90),
        NOW - timedelta(seconds=5), None, None, 0.0, 3.0,
    )  # fmt: skip
    samples = _samples(KpiSnapshot(taken_at=NOW, rollouts=(finished, running)))

    r7 = _labels(service="checkout", environment="prod", rollout="r-7", version="1.4.2")
    r8 = _labels(service="search", environment="prod", rollout="r-8", version="")
    assert samples == {
        ("golive_rollout_latest_duration_seconds", r7): 300.0,
        ("golive_rollout_latest_downtime_seconds", r7): 12.5,
        ("golive_rollout_latest_degraded_seconds", r7): 40.0,
        ("golive_rollout_latest_outcome", _labels(**dict(r7), outcome="rolledback")): 1.0,
        # In progress: the duration so far, up to the snapshot's time.
        ("golive_rollout_latest_duration_seconds", r8): 90.0,
        ("golive_rollout_latest_downtime_seconds", r8): 0.0,
        ("golive_rollout_latest_degraded_seconds", r8): 3.0,
        ("golive_rollout_latest_outcome", _labels(**dict(r8), outcome="in_progress")): 1.0,
    }


def test_without_recent_rollouts_no_latest_series_is_served() -> None:
    assert _samples(KpiSnapshot(taken_at=NOW)) == {}


def test_state_rendered_elsewhere_is_served_with_this_instances_alert_counts() -> None:
    snapshot = KpiSnapshot(taken_at=NOW, alerts_firing={("GoliveReleaseAtRisk", "warning"): 2})
    here, served = KpiCollector(), KpiCollector()
    here.publish(snapshot)
    served.serve(render_state(snapshot), {("GoliveReleaseAtRisk", "warning"): 2})
    assert served.rendered == here.rendered
    text = served.rendered.decode()
    assert 'golive_alerts_firing{alertname="GoliveReleaseAtRisk",severity="warning"} 2.0' in text
    assert "golive_alerts_firing" not in render_state(snapshot).decode()
    here.publish(None)
    assert here.rendered == b""
