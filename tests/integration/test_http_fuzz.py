"""Fuzzing POST /api/v1/events of a real golive (real broker and Postgres): whatever the
body, content type and ce-* headers, the answer is 2xx, or 4xx with a JSON problem body,
never 5xx, and golive stays ready."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.cloudevents import structured
from tests.fixtures.hostile import cdevent as hostile_cdevent
from tests.fixtures.hostile import corpus, with_field
from tests.integration.service import service_env, spawn, wait_for
from tests.unit.test_decode_fuzz import JSON, PATHS

TOKEN = "fuzz-token"
# A longer run: GOLIVE_HTTP_FUZZ_EXAMPLES=2000 pytest tests/integration/test_http_fuzz.py
EXAMPLES = int(os.environ.get("GOLIVE_HTTP_FUZZ_EXAMPLES", "100"))
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/cloudevents+json; charset=utf-8",
        "",
    ]
)
# Header values httpx can send: printable ASCII, no outer spaces (h11 refuses others).
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.strip
)
CE_HEADERS = st.dictionaries(
    st.sampled_from(["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-team"]),
    HEADER_TEXT,
    max_size=6,
)


def _mutated(path: str, value: Any) -> bytes:
    doc = hostile_cdevent("http-fuzz")
    doc = with_field(doc, path, value) if "." in path else {**doc, path: value}
    return json.dumps(doc).encode()


BODIES = st.one_of(
    st.binary(max_size=200),
    st.builds(_mutated, st.sampled_from(PATHS), JSON),
    st.builds(
        lambda p, v: json.dumps(structured(hostile_cdevent("s"))).encode()[: len(p)] + v,
        st.binary(max_size=200),
        st.binary(max_size=20),
    ),
    st.builds(lambda docs: json.dumps(docs).encode(), st.lists(JSON, max_size=3)),
    st.sampled_from([c.value for c in corpus() if len(c.value) < 4096]),
)


@pytest.mark.asyncio
async def test_any_post_gets_2xx_or_a_4xx_problem_and_golive_stays_ready(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = service_env(
        kafka_bootstrap, topic, database_url, GOLIVE_API_TOKEN=TOKEN, GOLIVE_API_EVENT_RATE="0"
    )
    url = f"http://{env['GOLIVE_HTTP_LISTEN']}"
    # A process of its own, not in this one: hypothesis checks that nothing touches the
    # `random` module while it draws, and golive's Kafka client shuffles with it on every
    # fetch (it failed the run as a "flaky strategy" when the two met).
    process = spawn(env)
    try:

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    return (await client.get(f"{url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(ready, timeout=60, what="golive ready")
        statuses = await asyncio.to_thread(_fuzz, url)
        await wait_for(ready, timeout=10, what="golive still ready")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert any(s == 202 for s in statuses), statuses  # some examples are valid events
    assert any(s == 400 for s in statuses)


def _fuzz(url: str) -> list[int]:
    statuses: list[int] = []
    with httpx.Client(base_url=url, timeout=30) as http:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            database=None,
        )
        @given(body=BODIES, content_type=CONTENT_TYPES, ce=CE_HEADERS)
        def post(body: bytes, content_type: str, ce: dict[str, str]) -> None:
            headers = {"authorization": f"Bearer {TOKEN}", **ce}
            if content_type:
                headers["content-type"] = content_type
            answer = http.post("/api/v1/events", content=body, headers=headers)
            statuses.append(answer.status_code)
            assert answer.status_code < 500, answer.text
            if answer.status_code >= 300:
                problem = answer.json()
                assert isinstance(problem, dict), problem
                assert isinstance(problem.get("detail"), str), problem
                assert problem["detail"], problem

        post()
    return statuses
