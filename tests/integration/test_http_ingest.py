"""`POST /api/v1/events` over real HTTP, against a running golive and a real broker:
each CloudEvents mode reaches Postgres, and each error status is what the docs say."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from golive.contract import Event, decode_record
from golive.embedded.broker import EmbeddedBroker
from tests.conftest import conformance_files
from tests.fixtures import cloudevents
from tests.integration.kafka import assigned_consumer, consume
from tests.integration.service import (
    InProcess,
    metric_value,
    running,
    service_env,
    wait_consumed,
)
from tests.integration.streams import cdevent

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC).replace(microsecond=0)
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def structured(doc: dict[str, Any]) -> dict[str, Any]:
    return cloudevents.structured(doc, datacontenttype="application/json")


def deployed(n: int, service: str = "checkout") -> dict[str, Any]:
    return cdevent(
        "service.deployed",
        service,
        {"environment": {"id": "prod"}, "artifactId": f"pkg:oci/{service}@1.{n}.0"},
        id=f"deploy-{service}-{n}",
        time=NOW - timedelta(minutes=30 - n),
    )


def rollout_events(rollout: str) -> list[dict[str, Any]]:
    at = NOW - timedelta(minutes=10)
    started = {
        "service": "checkout",
        "environment": "prod",
        "fromVersion": "1.4.1",
        "toVersion": "1.4.2",
        "desiredInstances": 2,
    }
    steps = [
        ("golive-rollout.started", started),
        ("golive-rollout.progressed", {"readyOld": 1, "readyNew": 1}),
        ("golive-rollout.progressed", {"readyOld": 0, "readyNew": 2}),
        ("golive-rollout.finished", {"outcome": "succeeded"}),
    ]
    return [
        cdevent(t, rollout, c, id=f"{rollout}-{i}", time=at + timedelta(seconds=30 * i))
        for i, (t, c) in enumerate(steps)
    ]


async def stored_ids(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return set()
        return {r["id"] for r in await conn.fetch("SELECT id FROM events")}
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def golive(kafka_bootstrap: str, topic: str, database_url: str) -> AsyncIterator[InProcess]:
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_API_TOKEN=TOKEN,
        GOLIVE_MAX_EVENT_BYTES="4096",
        GOLIVE_API_MAX_BODY_BYTES="65536",
    )
    async with running(env) as service:
        yield service


async def post(
    service: InProcess, body: bytes | Any, content_type: str, **headers: str
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            f"{service.url}/api/v1/events",
            content=content,
            headers={"Content-Type": content_type, **AUTH, **headers},
        )


def landed(response: httpx.Response) -> list[tuple[int, int]]:
    return [(e["partition"], e["offset"]) for e in response.json()["events"]]


@pytest.mark.asyncio
async def test_binary_mode_event_reaches_postgres_keyed_by_subject(
    golive: InProcess, kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    doc = deployed(1)
    ctx = doc["context"]
    response = await post(
        golive,
        doc,
        "application/json",
        **{
            "ce-specversion": "1.0",
            "ce-id": ctx["id"],
            "ce-source": ctx["source"],
            "ce-type": ctx["type"],
            "ce-team": "pay%20ments",  # percent-encoded, as the HTTP binding requires
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert body["events"][0] | {"partition": 0, "offset": 0} == {
        "id": "deploy-checkout-1",
        "source": "/ci",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "subject": "checkout",
        "topic": topic,
        "partition": 0,
        "offset": 0,
    }
    await wait_consumed(database_url, landed(response))
    assert await stored_ids(database_url) == {"deploy-checkout-1"}

    # The record on the topic is what a Kafka producer in binary mode would have sent.
    partition, offset = landed(response)[0]
    consumer = assigned_consumer(kafka_bootstrap, topic, 6)
    await consumer.start()
    try:
        (record,) = await consume(consumer, 1)
    finally:
        await consumer.stop()
    assert (record.partition, record.offset) == (partition, offset)
    assert record.key == b"checkout"
    headers = dict(record.headers)
    assert headers["ce_team"] == b"pay ments"
    assert headers["ce_id"] == b"deploy-checkout-1"
    decoded = decode_record(record.value, record.headers)
    assert isinstance(decoded, Event)
    assert decoded.team == "pay ments"


@pytest.mark.asyncio
async def test_structured_and_plain_events_reach_postgres(
    golive: InProcess, database_url: str
) -> None:
    first = await post(golive, structured(deployed(1)), STRUCTURED)
    second = await post(golive, deployed(2), "application/json; charset=utf-8")
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    await wait_consumed(database_url, landed(first) + landed(second))
    assert await stored_ids(database_url) == {"deploy-checkout-1", "deploy-checkout-2"}
    deployments = (await golive.get("/api/v1/deployments")).json()
    assert [d["version"] for d in deployments] == ["1.1.0", "1.2.0"]


@pytest.mark.asyncio
async def test_a_batch_keeps_one_rollouts_events_in_order_on_one_partition(
    golive: InProcess, database_url: str
) -> None:
    batch = [structured(e) for e in rollout_events("r-http-1")]
    response = await post(golive, batch, BATCH)
    assert response.status_code == 202, response.text
    places = landed(response)
    assert len({p for p, _ in places}) == 1
    assert [o for _, o in places] == sorted(o for _, o in places)
    await wait_consumed(database_url, places)
    (rollout,) = (await golive.get("/api/v1/rollouts")).json()
    assert rollout["id"] == "r-http-1"
    assert rollout["outcome"] == "succeeded"
    assert rollout["downtimeSeconds"] == 0


@pytest.mark.asyncio
async def test_every_conformance_example_is_accepted_over_http(
    golive: InProcess, database_url: str
) -> None:
    docs = [json.loads(p.read_text()) for p in conformance_files()]
    places = []
    for start in range(0, len(docs), 30):  # three batches, each under the 64 KiB body limit
        chunk = docs[start : start + 30]
        response = await post(golive, [structured(d) for d in chunk], BATCH)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == len(chunk)
        places += landed(response)
    await wait_consumed(database_url, places)
    assert await stored_ids(database_url) == {d["context"]["id"] for d in docs}


@pytest.mark.asyncio
async def test_rejections_are_400_with_the_reason_and_nothing_is_produced(
    golive: InProcess, database_url: str
) -> None:
    bad_time = deployed(2)
    bad_time["context"]["timestamp"] = "yesterday"
    no_artifact = deployed(3)
    del no_artifact["subject"]["content"]["artifactId"]
    response = await post(
        golive, [structured(deployed(1)), structured(bad_time), structured(no_artifact)], BATCH
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "2 of 3 event(s) rejected; nothing was produced"
    assert [(r["index"], r["kind"]) for r in body["rejected"]] == [
        (1, "invalid_timestamp"),
        (2, "invalid_content"),
    ]
    assert "'yesterday' is not an RFC 3339 timestamp" in body["rejected"][0]["reason"]
    assert "artifactId" in body["rejected"][1]["reason"]

    single = await post(golive, b'{"context": ', "application/json")
    assert single.status_code == 400
    assert single.json()["rejected"][0]["kind"] == "not_json"
    not_array = await post(golive, structured(deployed(1)), BATCH)
    assert not_array.status_code == 400
    assert "must be a JSON array" in not_array.json()["detail"]

    # Proof that nothing was produced: a good event sent afterwards is the only one stored.
    good = await post(golive, deployed(9), "application/json")
    assert good.status_code == 202
    await wait_consumed(database_url, landed(good))
    assert await stored_ids(database_url) == {"deploy-checkout-9"}


@pytest.mark.asyncio
async def test_auth_media_type_and_size_errors(golive: InProcess) -> None:
    event = json.dumps(structured(deployed(1))).encode()
    url = f"{golive.url}/api/v1/events"
    async with httpx.AsyncClient(timeout=30) as client:
        missing = await client.post(url, content=event, headers={"Content-Type": STRUCTURED})
        wrong = await client.post(
            url,
            content=event,
            headers={"Content-Type": STRUCTURED, "Authorization": f"Bearer {TOKEN}x"},
        )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="golive"'
        assert "Authorization: Bearer" in response.json()["detail"]

    text = await post(golive, event, "text/plain")
    assert text.status_code == 415
    assert "application/cloudevents+json" in text.json()["detail"]
    none = await post(golive, event, "")
    assert none.status_code == 415

    padded = structured(deployed(1))
    padded["data"]["subject"]["content"]["notes"] = "x" * 5000
    too_large = await post(golive, padded, STRUCTURED)
    assert too_large.status_code == 413
    assert "4096 bytes (GOLIVE_MAX_EVENT_BYTES)" in too_large.json()["detail"]
    big_batch = await post(golive, [structured(deployed(n)) for n in range(200)], BATCH)
    assert big_batch.status_code == 413
    assert "65536 bytes (GOLIVE_API_MAX_BODY_BYTES)" in big_batch.json()["detail"]
    # Under the batch limit, each event is still held to the event limit (a 400, per event).
    mixed = await post(golive, [structured(deployed(1)), padded], BATCH)
    assert mixed.status_code == 400
    assert [(r["index"], r["kind"]) for r in mixed.json()["rejected"]] == [(1, "too_large")]

    metrics = (await golive.get("/metrics")).text
    requests = {
        status: metric_value(metrics, "golive_api_event_requests_total", status=status)
        for status in ("202", "400", "401", "413", "415")
    }
    assert requests == {"202": 0, "400": 1, "401": 2, "413": 2, "415": 2}
    assert metric_value(metrics, "golive_api_events_total", status="400") == 2


@pytest.mark.asyncio
async def test_without_a_token_the_endpoint_is_disabled_with_403(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    async with running(service_env(kafka_bootstrap, topic, database_url)) as service:
        response = await post(service, structured(deployed(1)), STRUCTURED)
    assert response.status_code == 403
    assert "set GOLIVE_API_TOKEN" in response.json()["detail"]


@pytest.mark.asyncio
async def test_over_the_event_rate_is_429_with_retry_after(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = service_env(
        kafka_bootstrap, topic, database_url, GOLIVE_API_TOKEN=TOKEN, GOLIVE_API_EVENT_RATE="1"
    )
    async with running(env) as service:
        # A batch of 20 at 1 event/s is let through and leaves 20 s of debt.
        first = await post(service, [structured(deployed(n)) for n in range(20)], BATCH)
        second = await post(service, structured(deployed(21)), STRUCTURED)
        metrics = (await service.get("/metrics")).text
    assert first.status_code == 202
    assert second.status_code == 429
    assert 15 <= int(second.headers["Retry-After"]) <= 20
    assert "GOLIVE_API_EVENT_RATE" in second.json()["detail"]
    assert metric_value(metrics, "golive_api_events_total", status="202") == 20
    assert metric_value(metrics, "golive_api_events_total", status="429") == 1


@pytest.mark.asyncio
async def test_broker_down_is_503_and_events_flow_once_it_is_up(database_url: str) -> None:
    broker = EmbeddedBroker()  # its port, with nothing listening yet
    env = service_env(broker.bootstrap_servers, "events", database_url, GOLIVE_API_TOKEN=TOKEN)
    try:
        async with running(env) as service:
            down = await post(service, structured(deployed(1)), STRUCTURED)
            assert down.status_code == 503
            assert down.headers["Retry-After"] == "5"
            assert "the broker did not take the events" in down.json()["detail"]

            await asyncio.to_thread(broker.start)
            await create_topic(broker.bootstrap_servers, "events")
            up = await post(service, structured(deployed(1)), STRUCTURED)
            assert up.status_code == 202, up.text
            await wait_consumed(database_url, landed(up), timeout=90)
    finally:
        broker.stop()
    assert await stored_ids(database_url) == {"deploy-checkout-1"}


async def create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 6, 1)], timeout_ms=10_000)
    finally:
        await admin.close()
