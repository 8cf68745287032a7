"""Amazon ECS events as EventBridge delivers them, through a real broker, golive and
Postgres: the rollouts, their cost in availability, the DORA deployments and the metrics
are those of native rollout events."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.kafka import produce
from tests.integration.service import metric_value, running, service_env, wait_consumed, wait_for

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ecs"
ROLLING = "ecs-svc/7340011542209187002"
ROLLED_BACK = "ecs-svc/5120987712340002"
TOKEN = "ecs-test-token"
CATALOG = """
[ecs.clusters]
prod-eu = "prod"

[services.checkout]
team = "payments"

[services.payments-api]
team = "payments"
"""
# The fixtures' rollouts start at 2026-11-20T10:00:00Z; the test moves them to a few
# minutes ago, so that they are the "latest rollouts" the leader exports.
FIXTURE_START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def shifted(value: Any, by: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: shifted(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, by) for v in value]
    if isinstance(value, str) and _TIME.match(value):
        moved = datetime.fromisoformat(value) + by
        return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def sequence(name: str, by: timedelta) -> list[dict[str, Any]]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [shifted(json.loads(line), by) for line in lines]


@pytest.mark.asyncio
async def test_ecs_rollouts_from_kafka_and_http(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    by = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10) - FIXTURE_START
    rolling = sequence("rolling_update.jsonl", by)
    rollback = sequence("circuit_breaker_rollback.jsonl", by)
    guide = [json.loads(p.read_text()) for p in sorted((FIXTURES / "guide").glob("*.json"))]
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_CATALOG_FILE=str(catalog),
        GOLIVE_API_TOKEN=TOKEN,
        GOLIVE_EVALUATION_INTERVAL="1s",
    )
    async with running(env) as service:
        # As EventBridge events reach Kafka: the value is the event, keyed by service.
        records = [
            (e["resources"][0].encode(), json.dumps(e).encode(), []) for e in [*rolling, *guide]
        ]
        landed = await produce(kafka_bootstrap, topic, records)
        # ...and as an EventBridge API destination posts them: plain JSON over HTTP.
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            for event in rollback:
                answer = await client.post(
                    "/api/v1/events",
                    json=event,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                assert answer.status_code == 202, answer.text
                landed += [(p["partition"], p["offset"]) for p in answer.json()["events"]]
        await wait_consumed(database_url, landed)

        async def exported() -> bool:
            text = (await service.get("/metrics")).text
            return "golive_rollout_latest_degraded_seconds" in text and ROLLED_BACK in text

        await wait_for(exported, timeout=30, what="the leader's rollout gauges")
        metrics = (await service.get("/metrics")).text
        rollouts = {r["id"]: r for r in (await service.get("/api/v1/rollouts")).json()}

    checkout = rollouts[ROLLING]
    assert (checkout["service"], checkout["environment"]) == ("checkout", "prod")
    assert (checkout["fromVersion"], checkout["toVersion"]) == ("checkout:41", "checkout:42")
    assert checkout["outcome"] == "succeeded"
    assert (checkout["durationSeconds"], checkout["downtimeSeconds"]) == (240.0, 0.0)
    assert checkout["degradedSeconds"] == 222.0
    payments = rollouts[ROLLED_BACK]
    assert payments["outcome"] == "rolledback"
    assert (payments["downtimeSeconds"], payments["degradedSeconds"]) == (0.0, 198.0)
    labels = {"service": "payments-api", "environment": "prod", "rollout": ROLLED_BACK}
    assert (
        metric_value(
            metrics, "golive_rollout_latest_degraded_seconds", **labels, version="payments-api:8"
        )
        == 198.0
    )
    assert (
        metric_value(
            metrics, "golive_events_total", type="ecs-task.state-change", outcome="applied"
        )
        > 0
    )

    conn = await asyncpg.connect(database_url)
    try:
        deployments = await conn.fetch(
            "SELECT service, environment, version FROM deployments ORDER BY service, deployed_at"
        )
        activity = await conn.fetchval(
            "SELECT sum(events) FROM team_activity WHERE team = 'payments'"
        )
    finally:
        await conn.close()
    # A succeeded ECS rollout is a deployment for DORA, as a native one is.
    assert ("checkout", "prod", "checkout:42") in [tuple(r) for r in deployments]
    assert activity == len(rolling) + len(rollback)  # the catalog owner's activity
