"""The OpenAPI document against the running service: schemathesis generates requests for
every operation (valid and invalid, including POST /api/v1/events with the token) and
checks each answer against the document: no server error, documented status codes,
content types, headers and response schemas."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from golive.demo.scenario import demo_catalog_path, scenario
from tests.integration.kafka import produce
from tests.integration.service import answers_health, service_env, spawn, wait_consumed, wait_for

TOKEN = "openapi-test-token"
# A fixed seed, one worker and a number of cases (not a time budget) make the run the
# same on every machine, so CI is repeatable. To explore further:
#   GOLIVE_SCHEMATHESIS_SEED=7 GOLIVE_SCHEMATHESIS_EXAMPLES=1000 pytest tests/integration/test_openapi.py
SEED = os.environ.get("GOLIVE_SCHEMATHESIS_SEED", "20261124")
EXAMPLES = os.environ.get("GOLIVE_SCHEMATHESIS_EXAMPLES", "300")
# `positive_data_acceptance` expects every schema-valid request to succeed, but golive
# judges more than a schema can say: an event's timestamps, its type's content, envelope
# and context agreeing, an IANA zone name. Those are 400 / 422 with a reason, by design.
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.mark.asyncio
@pytest.mark.timeout(400)
async def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_API_TOKEN=TOKEN,
        GOLIVE_CATALOG_FILE=str(demo_catalog_path()),
    )
    url = f"http://{env['GOLIVE_HTTP_LISTEN']}"
    now = datetime.now(UTC)
    history = [(r.key, r.value, list(r.headers)) for r in scenario(now) if r.at <= now]
    golive = spawn(env, tmp_path / "golive.log")
    try:
        await wait_for(lambda: answers_health(url, timeout=2), timeout=60, what="golive HTTP up")
        # The demo's three weeks of history: every endpoint has something to show.
        await wait_consumed(database_url, await produce(kafka_bootstrap, topic, history))
        report = tmp_path / "schemathesis.txt"
        with report.open("wb") as out:
            st = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{url}/openapi.json",
                "--checks=all",
                f"--exclude-checks={EXCLUDED_CHECKS}",
                f"--header=Authorization: Bearer {TOKEN}",
                f"--max-examples={EXAMPLES}",
                f"--seed={SEED}",
                "--workers=1",
                "--no-color",
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=tmp_path,
            )
            code = await asyncio.wait_for(st.wait(), 300)
        output = report.read_text(errors="replace")
    finally:
        golive.terminate()
        golive.wait(30)
    assert "Tested: 13" in output, output[-3000:]
    assert code == 0, output[-8000:]
