"""Producer tooling against a running golive and a real broker: the curl and Python
examples of docs/producers.md, run as written, and `golive emit` over HTTP and Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from tests.integration.service import InProcess, free_port, running, service_env, wait_for

TOKEN = "producer-docs-token"
DOC = Path(__file__).resolve().parents[2] / "docs" / "producers.md"


def code_blocks(language: str) -> list[str]:
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.S | re.M)
    assert blocks, f"no ```{language} block in {DOC}"
    return blocks


async def events_stored(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return 0
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def wait_stored(database_url: str, count: int) -> None:
    async def there() -> bool:
        return await events_stored(database_url) >= count

    await wait_for(there, timeout=60, what=f"{count} events in Postgres", interval=0.2)
    assert await events_stored(database_url) == count


async def run(*argv: str, env: dict[str, str], stdin: bytes = b"") -> tuple[int, str, str]:
    """A command as a child process, without blocking the loop golive serves on."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def emit(*argv: str, env: dict[str, str]) -> asyncio.Future[tuple[int, str, str]]:
    return asyncio.ensure_future(run(sys.executable, "-m", "golive", "emit", *argv, env=env))


@pytest_asyncio.fixture
async def golive(kafka_bootstrap: str, topic: str, database_url: str) -> AsyncIterator[InProcess]:
    env = service_env(kafka_bootstrap, topic, database_url, GOLIVE_API_TOKEN=TOKEN)
    async with running(env) as service:
        yield service


@pytest.mark.asyncio
async def test_the_documented_curl_examples_work_as_written(
    golive: InProcess, database_url: str
) -> None:
    env = {"GOLIVE_URL": golive.url, "GOLIVE_API_TOKEN": TOKEN}
    accepted = 0
    for block in code_blocks("sh"):
        code, out, err = await run("bash", "-euo", "pipefail", "-c", block, env=env)
        assert code == 0, f"{block}\nstdout: {out}\nstderr: {err}"
        counts = [int(n) for n in re.findall(r'"accepted":(\d+)', out)]
        assert counts, out
        assert all(n > 0 for n in counts)
        accepted += sum(counts)
    assert accepted == 2 + 5 + 2  # two deployments, a rollout's five events, a batch of two
    await wait_stored(database_url, accepted)
    (rollout,) = (await golive.get("/api/v1/rollouts")).json()
    assert (rollout["service"], rollout["outcome"]) == ("checkout", "succeeded")
    assert (rollout["fromVersion"], rollout["toVersion"]) == ("1.4.2", "1.4.3")
    assert rollout["downtimeSeconds"] == 0
    # Both examples may run within the same second: compare without order.
    versions = sorted(d["version"] for d in (await golive.get("/api/v1/deployments")).json())
    assert versions == ["1.4.2", "1.4.3"]
    teams = {t["team"]: t["events"] for t in (await golive.get("/api/v1/teams")).json()}
    assert teams["payments"] == 2  # the ce-team / team extension of both deployments


@pytest.mark.asyncio
async def test_the_documented_python_example_works_as_written(
    golive: InProcess, database_url: str
) -> None:
    (example,) = code_blocks("python")
    program = example.replace("https://golive.example.com", golive.url).replace(
        'token="..."', f'token="{TOKEN}"'
    )
    code, out, err = await run(sys.executable, "-c", program, env={})
    assert (code, out, err) == (0, "", "")
    await wait_stored(database_url, 2)


@pytest.mark.asyncio
async def test_golive_emit_over_http_from_flags_and_from_a_file(
    golive: InProcess, database_url: str, tmp_path: Path
) -> None:
    env = {"GOLIVE_URL": golive.url, "GOLIVE_API_TOKEN": TOKEN, "GOLIVE_ROLLOUT_ID": "r-9"}
    code, out, err = await emit(
        "--type", "golive-rollout.started", "--service", "checkout", "--environment", "prod",
        "--version", "2.0.0", "--desired", "2", env=env,
    )  # fmt: skip
    assert code == 0, err
    assert re.fullmatch(
        r"sent dev\.cdeventsx\.golive-rollout\.started\.0\.1\.0 \S+ to golive-test-\w+ "
        r"partition \d offset \d+\n",
        out,
    )
    code, printed, _ = await emit(
        "--type", "golive-rollout.finished", "--outcome", "succeeded", "--dry-run", env=env
    )
    assert code == 0
    event_file = tmp_path / "finished.json"
    event_file.write_text(printed)
    code, out, err = await emit("--file", str(event_file), env=env)
    assert code == 0, err
    await wait_stored(database_url, 2)
    (rollout,) = (await golive.get("/api/v1/rollouts")).json()
    assert (rollout["id"], rollout["toVersion"], rollout["outcome"]) == (
        "r-9",
        "2.0.0",
        "succeeded",
    )


@pytest.mark.asyncio
async def test_golive_emit_to_kafka(
    golive: InProcess, kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = {"GOLIVE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "GOLIVE_KAFKA_TOPICS": topic}
    code, out, err = await emit(
        "--type", "service.deployed", "--service", "cart", "--environment", "prod",
        "--version", "3.1.0", "--team", "storefront", env=env,
    )  # fmt: skip
    assert code == 0, err
    assert f"to {topic} partition" in out
    await wait_stored(database_url, 1)
    (deployment,) = (await golive.get("/api/v1/deployments")).json()
    assert (deployment["service"], deployment["version"]) == ("cart", "3.1.0")


@pytest.mark.asyncio
async def test_golive_emit_says_why_and_exits_non_zero(
    golive: InProcess, kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    http = {"GOLIVE_URL": golive.url, "GOLIVE_API_TOKEN": TOKEN}
    kafka = {"GOLIVE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "GOLIVE_KAFKA_TOPICS": topic}
    # Rejected by golive over HTTP: its reason is printed.
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "context": {
                    "specversion": "0.5.1",
                    "id": "x1",
                    "source": "s",
                    "type": "dev.cdevents.service.deployed.0.3.0",
                    "timestamp": "tomorrow",
                },
                "subject": {"id": "cart", "content": {}},
            }
        )
    )
    code, _, err = await emit("--file", str(bad), env=http)
    assert code == 1
    assert "golive answered 400" in err
    assert "event 0: invalid_timestamp: context.timestamp 'tomorrow'" in err
    # Rejected before it reaches Kafka, with the flag to set.
    code, _, err = await emit(
        "--type", "golive-rollout.progressed", "--rollout", "r-1", "--ready-old", "1", env=kafka
    )
    assert code == 1
    assert "subject.content.readyNew: Field required" in err
    assert "--ready-new" in err
    # Not delivered: a wrong token, nothing listening.
    wrong = {**http, "GOLIVE_API_TOKEN": "not-it"}
    code, _, err = await emit("--type", "service.deployed", "--subject", "a", "--version", "1",
                              "--environment", "prod", env=wrong)  # fmt: skip
    assert code == 3
    assert "golive answered 401" in err
    nobody = {"GOLIVE_URL": f"http://127.0.0.1:{free_port()}"}
    code, _, err = await emit("--type", "service.deployed", "--subject", "a", "--version", "1",
                              "--environment", "prod", "--timeout", "1", env=nobody)  # fmt: skip
    assert code == 3
    assert "cannot reach" in err
    assert "gave up after 1 s" in err
    # Bad flags: exit 2.
    code, _, err = await emit("--type", "service.deployed", env=http)
    assert code == 2
    assert "--service or --subject" in err
    assert await events_stored(database_url) == 0
