"""A real Prometheus scrapes a running golive: a PromQL query of every metric returns the
value computed by hand for the scenario (issue 4)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from golive.clock import FrozenClock
from tests.integration.kafka import produce
from tests.integration.prometheus import PrometheusServer
from tests.integration.scenarios import NOW, RECORDS, SCENARIO, ago
from tests.integration.service import running, service_env, wait_consumed

CHECKOUT_7D = 'service="checkout",environment="prod",window="7d"'

# PromQL -> expected value, every one derived in tests/integration/scenarios.py.
EXPECTED: dict[str, float] = {
    "golive_leader": 1,
    'golive_events_total{type="service.deployed",outcome="applied"}': 4,
    'golive_events_total{type="golive-task.scheduled",outcome="applied"}': 5,
    "sum(golive_events_total)": len(SCENARIO),
    "sum(golive_consumer_lag_messages)": 0,
    "golive_event_lag_seconds_count": len(SCENARIO),
    "golive_ready": 1,
    f"golive_dora_deployment_frequency_per_day{{{CHECKOUT_7D}}}": 3 / 7,
    f"golive_dora_change_failure_ratio{{{CHECKOUT_7D}}}": 1 / 3,
    f"golive_dora_rework_ratio{{{CHECKOUT_7D}}}": 1 / 3,
    f'golive_dora_lead_time_seconds{{{CHECKOUT_7D},quantile="0.5"}}': 86400,
    f'golive_dora_lead_time_seconds{{{CHECKOUT_7D},quantile="0.9"}}': 172500,
    f'golive_dora_recovery_time_seconds{{{CHECKOUT_7D},quantile="0.5"}}': 7200,
    'golive_dora_change_failure_ratio{service="checkout",environment="prod",window="30d"}': 0.25,
    'golive_deployments_total{service="checkout",environment="prod",outcome="success"}': 4,
    'golive_deployments_total{service="checkout",environment="prod",outcome="failed"}': 0,
    'golive_rollout_downtime_seconds_sum{service="checkout",environment="prod"}': 30,
    'golive_rollout_downtime_seconds_count{service="checkout",environment="prod"}': 1,
    'golive_rollout_downtime_seconds_bucket{service="checkout",environment="prod",le="5"}': 0,
    'golive_rollout_downtime_seconds_bucket{service="checkout",environment="prod",le="30"}': 1,
    'golive_rollout_duration_seconds_sum{service="checkout",environment="prod"}': 300,
    'golive_rollout_degraded_seconds_sum{service="checkout",environment="prod"}': 30,
    "golive_rollouts_in_progress": 0,
    'golive_release_progress_ratio{release="R1"}': 0.4,
    'golive_release_tasks{release="R1",status="done"}': 2,
    'golive_release_tasks{release="R1",status="todo"}': 2,
    'golive_release_target_timestamp_seconds{release="R1"}': (NOW + timedelta(days=2)).timestamp(),
    'golive_release_at_risk{release="R1"}': 1,
    'golive_release_late{release="R1"}': 0,
    'golive_tasks_overdue{release="R1",team="payments"}': 2,
    'golive_objective_met{release="R1",objective="cfr"}': 1,
    'golive_objective_met{release="R1",objective="downtime"}': 0,
    'golive_objective_value{release="R1",objective="downtime",kpi="rollout_downtime_max"}': 30,
    'golive_team_last_activity_timestamp_seconds{team="payments"}': ago(hours=1).timestamp(),
    'golive_team_idle{team="payments"}': 0,
    'golive_team_idle{team="storefront"}': 1,
    'golive_team_open_tasks{team="storefront"}': 1,
    # The P85 forecast is after the target (that is what at-risk means).
    'golive_release_forecast_timestamp_seconds{release="R1",quantile="0.85"} > bool ignoring(quantile) golive_release_target_timestamp_seconds{release="R1"}': 1,
    "golive_evaluation_timestamp_seconds": NOW.timestamp(),
}


@pytest.mark.asyncio
async def test_every_metric_answers_promql_with_the_value_computed_by_hand(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    from tests.integration.scenarios import CATALOG_TOML

    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG_TOML)
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_EVALUATION_INTERVAL="1s",
        GOLIVE_CATALOG_FILE=str(catalog),
    )
    async with running(env, FrozenClock(NOW)) as service:
        records = [(e.subject_id.encode(), RECORDS[e.key], []) for e in SCENARIO]
        landed = await produce(kafka_bootstrap, topic, records)
        await wait_consumed(database_url, landed)
        target = service.settings.http_listen
        async with PrometheusServer([target], scrape_interval="1s", tmp_dir=tmp_path) as prometheus:
            await prometheus.wait_for_target_up()
            await prometheus.wait_for_value("golive_rollouts_in_progress", timeout=30)
            for query, expected in EXPECTED.items():
                value = await prometheus.wait_for_value(
                    query, lambda v, e=expected: v == pytest.approx(e), timeout=20
                )
                assert value == pytest.approx(expected), query
