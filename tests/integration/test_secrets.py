"""Secrets never leave golive: `golive run` is given recognisable secret values (the
database password, both API tokens, the SASL password, the report webhook's URL and
token), then every GET endpoint is called, errors are provoked (wrong tokens, a bad
event, a broker that refuses SASL, an unreachable database, a webhook that is not there),
and neither its whole log nor any answer may hold one of them. The same for the
messages of `golive` refusing invalid settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.integration.service import answers_health, free_port, service_env, wait_for
from tests.integration.streams import deployment_value

DB_PASSWORD = "dbpass-S3CRET-2f8a"
WRITE = "write-S3CRET-9c1d"
READ = "read-S3CRET-4e7b"
SASL_PASSWORD = "sasl-S3CRET-6a0f"
HOOK_PATH = "hook-S3CRET-path-3b5c"
HOOK_TOKEN = "hook-S3CRET-token-8d9e"
# The recognisable part all of them share, and each whole value.
SECRETS = ["S3CRET", DB_PASSWORD, WRITE, READ, SASL_PASSWORD, HOOK_PATH, HOOK_TOKEN]
PATH_VALUES = {"release_id": "r-1", "period": "daily", "label": "2026-11-23"}


def with_password(dsn: str, password: str, port: int | None = None) -> str:
    parts = urlsplit(dsn)
    host = f"{parts.hostname}:{port or parts.port or 5432}"
    netloc = f"{parts.username or 'postgres'}:{password}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def secret_env(bootstrap: str, topic: str, dsn: str, **extra: str) -> dict[str, str]:
    return service_env(
        bootstrap,
        topic,
        dsn,
        GOLIVE_API_TOKEN=WRITE,
        GOLIVE_API_READ_TOKEN=READ,
        GOLIVE_REPORT_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/{HOOK_PATH}",
        GOLIVE_REPORT_WEBHOOK_TOKEN=HOOK_TOKEN,
        GOLIVE_REPORT_PERIODS="daily",
        GOLIVE_REPORT_PUBLISH_DELAY="0s",
        GOLIVE_EVALUATION_INTERVAL="1s",
        GOLIVE_LOG_LEVEL="DEBUG",
        **extra,
    )


@contextmanager
def golive_run(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """`golive run` with stdout and stderr in `log`; yields its URL, stops it with SIGTERM."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "golive", "run"],
            env=clean | dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://{env['GOLIVE_HTTP_LISTEN']}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def exercise(url: str) -> list[str]:
    """Every GET endpoint with the read token, and refused requests: what each answered."""
    answers = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        document: dict[str, Any] = (await client.get("/openapi.json")).json()
        answers.append(str(document))
        for path, operations in document["paths"].items():
            if "get" not in operations:
                continue
            for name, value in PATH_VALUES.items():
                path = path.replace(f"{{{name}}}", value)
            for headers in ({"Authorization": f"Bearer {READ}"}, {"Authorization": "Bearer x"}):
                response = await client.get(path, headers=headers)
                answers.append(f"{path} {response.status_code} {response.headers} {response.text}")
        for auth, body in [
            ("x", b"{}"),
            (READ, b"{}"),
            (WRITE, b'{"specversion": "1.0"}'),
            (WRITE, b"not json"),
            (WRITE, deployment_value()),
        ]:
            response = await client.post(
                "/api/v1/events",
                content=body,
                headers={
                    "Content-Type": "application/cloudevents+json",
                    "Authorization": f"Bearer {auth}",
                },
            )
            answers.append(f"POST {response.status_code} {response.headers} {response.text}")
    return answers


def assert_no_secret(where: str, text: str) -> None:
    found = [s for s in SECRETS if s in text]
    assert not found, f"{found} in {where}:\n{text[-3000:]}"


@pytest.mark.asyncio
async def test_a_working_service_never_shows_a_secret(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    env = secret_env(kafka_bootstrap, topic, with_password(database_url, DB_PASSWORD))
    log = tmp_path / "golive.log"
    with golive_run(env, log) as url:
        await wait_for(lambda: answers_health(url), timeout=30, what="golive HTTP up")
        # The leader publishes yesterday's report at once and fails to deliver it.
        await wait_for(
            lambda: "not delivered" in log.read_text(), timeout=40, what="a webhook failure"
        )
        answers = await exercise(url)
    text = log.read_text()
    assert "settings:" in text
    assert any(a.startswith("POST 202") for a in answers), answers
    for answer in answers:
        assert_no_secret("an answer", answer)
    assert_no_secret("the log", text)


@pytest.mark.asyncio
async def test_a_broker_refusing_sasl_never_shows_the_password(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    env = secret_env(
        kafka_bootstrap,
        topic,
        with_password(database_url, DB_PASSWORD),
        GOLIVE_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        GOLIVE_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        GOLIVE_KAFKA_SASL_USERNAME="golive",
        GOLIVE_KAFKA_SASL_PASSWORD=SASL_PASSWORD,
    )
    log = tmp_path / "golive.log"
    with golive_run(env, log) as url:
        await wait_for(lambda: answers_health(url), timeout=30, what="golive HTTP up")
        await wait_for(
            lambda: "broker" in log.read_text().lower(), timeout=40, what="a broker failure"
        )
        answers = await exercise(url)
    assert any("POST 503" in a for a in answers), [a for a in answers if a.startswith("POST")]
    for answer in answers:
        assert_no_secret("an answer", answer)
    assert_no_secret("the log", log.read_text())


@pytest.mark.asyncio
async def test_an_unreachable_database_never_shows_its_password(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    dsn = with_password(database_url, DB_PASSWORD, port=free_port())
    env = secret_env(kafka_bootstrap, topic, dsn)
    log = tmp_path / "golive.log"
    with golive_run(env, log) as url:
        await wait_for(lambda: answers_health(url), timeout=30, what="golive HTTP up")
        await wait_for(
            lambda: "Postgres unavailable" in log.read_text(), timeout=30, what="the warning"
        )
        answers = await exercise(url)
        async with httpx.AsyncClient(timeout=10) as client:
            ready = await client.get(f"{url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["problems"]["database"]
    assert_no_secret("/readyz", ready.text)
    for answer in answers:
        assert_no_secret("an answer", answer)
    assert_no_secret("the log", log.read_text())


@pytest.mark.parametrize(
    "env",
    [
        {"GOLIVE_API_TOKEN": " ", "GOLIVE_API_READ_TOKEN": READ},
        {"GOLIVE_KAFKA_SASL_PASSWORD": SASL_PASSWORD},
        {"GOLIVE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "GOLIVE_KAFKA_SASL_PASSWORD": SASL_PASSWORD},
        {"GOLIVE_REPORT_WEBHOOK_URL": f"ftp://x/{HOOK_PATH}", "GOLIVE_API_TOKEN": WRITE},
        {"GOLIVE_DATABASE_URL": f"postgresql://u:{DB_PASSWORD}@db:notaport/golive"},
        {"GOLIVE_HTTP_LISTEN": WRITE, "GOLIVE_API_READ_TOKEN": READ},
        {"GOLIVE_KAFKA_SECURITY_PROTOCOL": SASL_PASSWORD},
    ],
)
def test_invalid_settings_are_refused_without_echoing_a_secret(env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    base = {
        "GOLIVE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "GOLIVE_DATABASE_URL": f"postgresql://golive:{DB_PASSWORD}@127.0.0.1:1/golive",
    }
    done = subprocess.run(
        [sys.executable, "-m", "golive", "run"],
        env=clean | base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "GOLIVE_" in output
    assert "Traceback" not in output
    assert_no_secret("golive's refusal", output)


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["replay"],
        ["report", "--period", "daily"],
        ["demo"],
        ["watch-kubernetes", "--namespace", "shop"],
        ["emit", "--type", "service.deployed", "--service", "checkout"],
    ],
)
def test_every_command_refuses_invalid_settings_without_echoing_a_secret(
    command: list[str],
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    env = {
        "GOLIVE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "GOLIVE_DATABASE_URL": f"postgresql://golive:{DB_PASSWORD}@127.0.0.1:1/golive",
        # A SASL password with a plaintext protocol: refused before anything connects.
        "GOLIVE_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
        "GOLIVE_API_TOKEN": WRITE,
    }
    done = subprocess.run(
        [sys.executable, "-m", "golive", *command],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "GOLIVE_KAFKA_SASL_PASSWORD set but GOLIVE_KAFKA_SECURITY_PROTOCOL" in output
    assert_no_secret(f"golive {command[0]}'s refusal", output)
