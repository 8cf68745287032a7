"""Exactly-once ingest from a real broker into a real Postgres (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from golive.contract import Event, decode_record
from tests.conftest import conformance_files
from tests.integration.kafka import Record, produce
from tests.integration.service import (
    dump_state,
    metric_value,
    running,
    service_env,
    stored_offsets,
    wait_consumed,
)
from tests.integration.streams import cdevent, record, synthetic_stream

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "schemas" / "examples").glob("*.json"))


def file_records() -> list[Record]:
    records = []
    for i, path in enumerate([*conformance_files(), *EXAMPLES]):
        doc = json.loads(path.read_text())
        mode = ("plain", "structured", "binary")[i % 3]
        records.append(record(doc, doc["subject"]["id"], mode))
    return records


def duplicates(metrics: str) -> float:
    """Events counted as duplicates, of every type."""
    return sum(
        float(line.rpartition(" ")[2])
        for line in metrics.splitlines()
        if line.startswith("golive_events_total{") and 'outcome="duplicate"' in line
    )


@pytest.mark.asyncio
async def test_every_conformance_and_golive_example_reaches_postgres(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    records = file_records()
    decoded = [decode_record(v, h) for _, v, h in records]
    assert all(isinstance(e, Event) for e in decoded)
    unique = {e.key for e in decoded if isinstance(e, Event)}  # the examples reuse ids
    # The golive examples are dated up to December 2026: past the clock skew allowed
    # (GOLIVE_MAX_CLOCK_SKEW) of a clock in November 2026.
    env = service_env(kafka_bootstrap, topic, database_url, GOLIVE_MAX_CLOCK_SKEW="3650d")
    async with running(env) as service:
        landed = await produce(kafka_bootstrap, topic, records)
        await wait_consumed(database_url, landed)
        metrics = (await service.get("/metrics")).text
        releases = (await service.get("/api/v1/releases")).json()
        rollouts = (await service.get("/api/v1/rollouts")).json()
    state = await dump_state(database_url)
    assert state["events"] == len(unique)
    assert sum(n for _, n in state["event_counts"]) == len(unique)
    applied = sum(
        metric_value(metrics, "golive_events_total", type=t, outcome="applied")
        for t, _ in state["event_counts"]
    )
    assert applied == len(unique)
    assert [r["id"] for r in releases] == ["123", "2026-12"]  # ticket milestone, golive release
    assert rollouts[0]["id"] == "ecs-deploy-7f3a"
    assert rollouts[0]["outcome"] == "succeeded"


@pytest.mark.asyncio
async def test_duplicates_are_applied_once_and_counted(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    doc = cdevent(
        "service.deployed",
        "checkout",
        {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.0"},
        id="dup-1",
        time=__import__("datetime").datetime(2026, 11, 2, tzinfo=__import__("datetime").UTC),
    )
    records = [record(doc, "checkout", mode) for mode in ("plain", "structured", "binary")]
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env) as service:
        landed = await produce(kafka_bootstrap, topic, records[:1])
        await wait_consumed(database_url, landed)
        landed = await produce(kafka_bootstrap, topic, records[1:])
        await wait_consumed(database_url, landed)
        metrics = (await service.get("/metrics")).text
        deployments = (await service.get("/api/v1/deployments")).json()
    assert (
        metric_value(metrics, "golive_events_total", type="service.deployed", outcome="applied")
        == 1
    )
    assert (
        metric_value(metrics, "golive_events_total", type="service.deployed", outcome="duplicate")
        == 2
    )
    assert len(deployments) == 1
    assert (await dump_state(database_url))["event_counts"] == [("service.deployed", 1)]
    # Folded before the transaction as if new, then again once the insert refused it.
    assert metric_value(metrics, "golive_batch_refolds_total") >= 1


BAD_INPUTS: list[tuple[bytes, list[tuple[str, bytes]], str]] = [
    (b"\xff\xfe not utf-8", [], "not_utf8"),
    (b"{not json", [], "not_json"),
    (b"[1, 2, 3]", [], "not_object"),
    (b'{"hello": "world"}', [], "unknown_format"),
    (
        json.dumps(
            cdevent(
                "service.deployed",
                "x",
                {"environment": {"id": "prod"}, "artifactId": "pkg:oci/x@1"},
                id="",
                time=__import__("datetime").datetime(
                    2026, 11, 2, tzinfo=__import__("datetime").UTC
                ),
            )
        ).encode(),
        [],
        "missing_attribute",
    ),
    (
        json.dumps(
            {
                "context": {
                    "specversion": "0.5.1",
                    "id": "a",
                    "source": "/s",
                    "type": "com.acme.deployed.1.0.0",
                    "timestamp": "2026-11-02T00:00:00Z",
                },
                "subject": {"id": "x"},
            }
        ).encode(),
        [],
        "unknown_type",
    ),
    (
        json.dumps(
            {
                "context": {
                    "specversion": "0.9.0",
                    "id": "a",
                    "source": "/s",
                    "type": "dev.cdevents.service.deployed.0.3.0",
                    "timestamp": "2026-11-02T00:00:00Z",
                },
                "subject": {"id": "x"},
            }
        ).encode(),
        [],
        "unsupported_version",
    ),
    (
        json.dumps(
            {
                "context": {
                    "specversion": "0.5.1",
                    "id": "a",
                    "source": "/s",
                    "type": "dev.cdevents.service.deployed.0.3.0",
                    "timestamp": "2026-11-02T00:00:00",
                },
                "subject": {"id": "x"},
            }
        ).encode(),
        [],
        "invalid_timestamp",
    ),
    (
        json.dumps(
            {
                "context": {
                    "specversion": "0.5.1",
                    "id": "a",
                    "source": "/s",
                    "type": "dev.cdeventsx.golive-rollout.progressed.0.1.0",
                    "timestamp": "2026-11-02T00:00:00Z",
                },
                "subject": {"id": "x", "content": {"readyOld": -1, "readyNew": 0}},
            }
        ).encode(),
        [],
        "invalid_content",
    ),
    (b'{"pad": "' + b"x" * 5000 + b'"}', [], "too_large"),
]


@pytest.mark.asyncio
async def test_bad_input_is_dead_lettered_with_its_reason_and_good_events_around_it_are_applied(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    good = synthetic_stream(20)
    records: list[Record] = []
    for i, (value, headers, _) in enumerate(BAD_INPUTS):
        records += [good[2 * i], (b"bad", value, headers), good[2 * i + 1]]
    env = service_env(kafka_bootstrap, topic, database_url, GOLIVE_MAX_EVENT_BYTES="4096")
    async with running(env) as service:
        landed = await produce(kafka_bootstrap, topic, records, partition=0)
        await wait_consumed(database_url, landed)
        metrics = (await service.get("/metrics")).text
    letters = await read_all(kafka_bootstrap, f"{topic}.dlq", len(BAD_INPUTS))
    kinds = sorted(dict(m.headers)["golive.reason.kind"].decode() for m in letters)
    assert kinds == sorted(kind for _, _, kind in BAD_INPUTS)
    for message in letters:
        headers = dict(message.headers)
        assert headers["golive.source.topic"].decode() == topic
        assert int(headers["golive.source.offset"]) in {offset for _, offset in landed}
        assert headers["golive.reason"]
        assert message.value in {value for value, _, _ in BAD_INPUTS}
    assert metric_value(
        metrics, "golive_events_total", type="unknown", outcome="dead_lettered"
    ) == len(BAD_INPUTS)
    assert metric_value(metrics, "golive_dead_letters_total", reason="not_json") == 1
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    assert stored == 2 * len(BAD_INPUTS)


async def read_all(bootstrap: str, topic: str, count: int) -> list[object]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        messages: list[object] = []
        import asyncio

        async def collect() -> None:
            while len(messages) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    messages.extend(records)

        await asyncio.wait_for(collect(), 30)
        return messages
    finally:
        await consumer.stop()


@pytest.mark.asyncio
async def test_restart_resumes_from_the_stored_offsets(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    stream = synthetic_stream(400)
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env):
        landed = await produce(kafka_bootstrap, topic, stream[:200])
        await wait_consumed(database_url, landed)
    async with running(env) as service:
        landed = await produce(kafka_bootstrap, topic, stream[200:])
        await wait_consumed(database_url, landed)
        metrics = (await service.get("/metrics")).text
    assert duplicates(metrics) == 0  # nothing of the first run was read again
    assert (await dump_state(database_url))["events"] == 400


@pytest.mark.asyncio
async def test_kafka_holds_the_stored_offsets_once_golive_stops(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    """Lag tools read the group's offsets from Kafka. golive commits them there after
    Postgres, in the background while the next batch is written; stopping waits for the
    last of them."""
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env):
        for start in range(0, 300, 100):  # several batches, each committed in turn
            landed = await produce(
                kafka_bootstrap, topic, synthetic_stream(300)[start : start + 100]
            )
            await wait_consumed(database_url, landed)
    stored = await stored_offsets(database_url)
    assert sum(stored.values()) == 300
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=env["GOLIVE_KAFKA_GROUP_ID"]
    )
    await reader.start()
    try:
        in_kafka = {p: await reader.committed(TopicPartition(topic, p)) for p in stored}
    finally:
        await reader.stop()
    assert in_kafka == stored


@pytest.mark.asyncio
async def test_a_partition_written_in_one_batch_is_not_taken_for_a_lost_log(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    """Tansu answers ListOffsets with 1 for four records sent in one batch: a restart that
    trusted it took its stored offset 4 for a lost log and read the partition again."""
    stream = synthetic_stream(5)
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env):
        landed = await produce(kafka_bootstrap, topic, stream[:4], partition=0)
        await wait_consumed(database_url, landed)
    async with running(env) as service:
        # Elsewhere: a record on partition 0 would make Tansu's answer right again.
        landed = await produce(kafka_bootstrap, topic, stream[4:], partition=1)
        await wait_consumed(database_url, landed)
        metrics = (await service.get("/metrics")).text
    assert metric_value(metrics, "golive_offset_resets_total", topic=topic) == 0
    assert duplicates(metrics) == 0  # nothing of the first run was read again
    assert (await dump_state(database_url))["events"] == 5


@pytest.mark.asyncio
async def test_demo_scenario_through_kafka_reaches_the_story_state(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    from datetime import UTC, datetime

    from golive.demo.scenario import demo_catalog_path, release_id, scenario

    now = datetime.now(UTC)
    records = scenario(now, live_seconds=60)
    env = service_env(
        kafka_bootstrap, topic, database_url, GOLIVE_CATALOG_FILE=str(demo_catalog_path())
    )
    async with running(env) as service:
        landed = await produce(
            kafka_bootstrap, topic, [(r.key, r.value, list(r.headers)) for r in records]
        )
        await wait_consumed(database_url, landed)
        release = (await service.get(f"/api/v1/releases/{release_id(now)}")).json()
        rollouts = (await service.get("/api/v1/rollouts")).json()
        deployments = (await service.get("/api/v1/deployments")).json()
        teams = {t["team"]: t for t in (await service.get("/api/v1/teams")).json()}
    assert (await dump_state(database_url))["events"] == len(records)
    assert release["status"] == "open"
    assert 0.5 < release["progress"] < 1
    assert any(t["overdue"] for t in release["taskList"])
    assert any(t["kind"] == "corrective" and t["status"] != "done" for t in release["taskList"])
    assert {o["id"]: o["met"] for o in release["objectives"]}  # evaluated
    by_service = {r["service"]: r for r in rollouts}
    assert by_service["checkout"]["downtimeSeconds"] > 5
    assert by_service["storefront-web"]["downtimeSeconds"] == 0
    assert by_service["api-gateway"]["outcome"] == "failed"
    assert any(d["service"] == "payments-api" and d["outcome"] == "failed" for d in deployments)
    assert teams["data"]["idle"] is True
    assert [name for name, t in teams.items() if t["idle"]] == ["data"]
