"""The hostile corpus (tests/fixtures/hostile) through a real broker, a real `golive run`
process and a real Postgres: every record is applied, recognised as a duplicate or
dead-lettered with its reason; nothing is lost and golive stays ready."""

from __future__ import annotations

from collections import Counter

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from golive.contract import RejectionKind
from tests.fixtures.hostile import (
    APPLIED,
    DUPLICATE,
    HOSTILE_MAX_BYTES,
    Case,
    binary_headers,
    cdevent,
    corpus,
    dumps,
    with_field,
)
from tests.integration.kafka import Record, produce
from tests.integration.service import (
    metric_value,
    running,
    service_env,
    spawn,
    wait_consumed,
    wait_for,
)
from tests.integration.test_ingest import read_all
from tests.integration.test_reliability import stop_process

LATER_CASES = [
    Case(
        "stored_redelivered_in_binary_mode",
        dumps(cdevent("redelivered")),
        DUPLICATE,
        binary_headers(cdevent("redelivered")),
    ),
    Case(
        "stored_collision_third_content",
        dumps(with_field(cdevent("collision"), "subject.id", "payments")),
        RejectionKind.ID_CONFLICT,
    ),
]
LATER: list[Record] = [(c.key, c.value, c.headers) for c in LATER_CASES]


@pytest.mark.asyncio
async def test_every_hostile_record_is_applied_or_dead_lettered_with_its_reason(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    cases = corpus(HOSTILE_MAX_BYTES)
    records: list[Record] = [(c.key, c.value, c.headers) for c in cases]
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_MAX_EVENT_BYTES=str(HOSTILE_MAX_BYTES),
        GOLIVE_EVALUATION_INTERVAL="1s",
    )
    url = f"http://{env['GOLIVE_HTTP_LISTEN']}"
    process = spawn(env)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:

            async def ready() -> bool:
                assert process.poll() is None, "golive run exited"
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_for(ready, timeout=60, what="golive ready")
            # One partition: the corpus order (first event, then its duplicate or its
            # conflicting twin) is the order golive sees.
            landed = await produce(kafka_bootstrap, topic, records, partition=0)
            await wait_consumed(database_url, landed)
            # Then, against what is stored (not within one batch): a re-delivery in
            # binary mode is a duplicate, a third content under a used id a conflict.
            later = await produce(kafka_bootstrap, topic, LATER, partition=0)
            await wait_consumed(database_url, later)
            await wait_for(ready, timeout=10, what="golive still ready")
            metrics = (await http.get("/metrics")).text
            # The leader evaluates KPIs and alerts over the hostile state (year 9999
            # targets, HTML in names): the read side keeps answering.
            for path in ("/api/v1/releases", "/api/v1/teams", "/api/v1/deployments"):
                assert (await http.get(path)).status_code == 200, path
            # The week of the corpus' events: its deployments name a service in HTML.
            params = {"format": "html", "at": "2026-11-02"}
            page = (await http.get("/api/v1/reports/weekly", params=params)).text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
            assert "<script" not in page.lower()
            assert "<img" not in page.lower()
    finally:
        assert stop_process(process) == 0

    cases += LATER_CASES
    landed += later
    offset_of = {offset: case for case, (_, offset) in zip(cases, landed, strict=True)}
    rejected = [c for c in cases if c.outcome not in (APPLIED, DUPLICATE)]
    letters = await read_all(kafka_bootstrap, f"{topic}.dlq", len(rejected))
    lettered: dict[str, str] = {}
    for message in letters:
        headers = dict(message.headers)  # type: ignore[attr-defined]
        case = offset_of[int(headers["golive.source.offset"])]
        assert case.name not in lettered, f"{case.name} dead-lettered twice"
        lettered[case.name] = headers["golive.reason.kind"].decode()
        assert len(headers["golive.reason"].decode()) > 15
        assert message.value == case.value  # type: ignore[attr-defined]
        assert len(headers["golive.reason"]) <= 1000
        if case.key is not None and len(case.key) > 16 * 1024:
            assert message.key is None  # type: ignore[attr-defined]
            assert headers["golive.key.dropped"] == str(len(case.key)).encode()
    assert lettered == {c.name: str(c.outcome) for c in rejected}

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch('SELECT "offset" FROM events WHERE topic = $1', topic)
    finally:
        await conn.close()
    applied = sorted(offset_of[r["offset"]].name for r in rows)
    assert applied == sorted(c.name for c in cases if c.outcome == APPLIED)

    duplicates = sum(
        metric_value(metrics, "golive_events_total", type="service.deployed", outcome=o)
        for o in ("duplicate",)
    )
    assert duplicates == sum(c.outcome == DUPLICATE for c in cases)
    # Nothing lost: produced = applied + dead-lettered + recognised duplicates.
    assert len(cases) == len(applied) + len(lettered) + duplicates
    kinds = Counter(str(c.outcome) for c in rejected)
    for kind, count in kinds.items():
        assert metric_value(metrics, "golive_dead_letters_total", reason=kind) == count, kind
    assert metric_value(metrics, "golive_dead_letters_total", reason="id_conflict") == 2


@pytest.mark.asyncio
async def test_a_record_too_large_for_the_dead_letter_topic_does_not_stop_ingest(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    """A record the broker took but golive's producer cannot send back as is (over its
    1 MiB request limit once the reason headers are added) is still dead-lettered, and
    the records after it are applied."""
    big = b"x" * (1536 * 1024)
    good = cdevent("after-big")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, max_request_size=4 * 1024 * 1024, acks="all"
    )
    await producer.start()
    try:
        first = await producer.send_and_wait(topic, big, key=b"big", partition=0)
        second = await producer.send_and_wait(topic, dumps(good), key=b"good", partition=0)
    finally:
        await producer.stop()
    env = service_env(kafka_bootstrap, topic, database_url)
    async with running(env):
        await wait_consumed(database_url, [(0, first.offset), (0, second.offset)], timeout=60)
    letters = await read_all(kafka_bootstrap, f"{topic}.dlq", 1)
    headers = dict(letters[0].headers)  # type: ignore[attr-defined]
    assert headers["golive.reason.kind"] == b"too_large"
    assert int(headers["golive.source.offset"]) == first.offset
    assert headers["golive.value.truncated"] == str(len(big)).encode()
    assert letters[0].value == big[: len(letters[0].value)]  # type: ignore[attr-defined]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == 1  # the good one after it
    finally:
        await conn.close()
