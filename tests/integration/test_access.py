"""Who may read and write, against a running golive: GOLIVE_API_TOKEN guards the write
endpoint, GOLIVE_API_READ_TOKEN (or the write token) every read endpoint when it is set;
probes, /metrics and the OpenAPI document stay open for orchestrators and Prometheus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.service import InProcess, running, service_env, wait_for
from tests.integration.streams import deployment_value

WRITE = "write-token-4f1c9a"
READ = "read-token-8d2e7b"
CHALLENGE = 'Bearer realm="golive"'
STRUCTURED = "application/cloudevents+json"
OPEN = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]
# A value for each path parameter of the read routes (answers may be 404, never 401).
PATH_VALUES = {"release_id": "r-1", "period": "daily", "label": "2026-11-23"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def guarded(kafka_bootstrap: str, topic: str, database_url: str) -> AsyncIterator[InProcess]:
    env = service_env(
        kafka_bootstrap, topic, database_url, GOLIVE_API_TOKEN=WRITE, GOLIVE_API_READ_TOKEN=READ
    )
    async with running(env) as service:
        await wait_for(
            lambda: _answers(service, "/api/v1/releases", bearer(READ)),
            timeout=30,
            what="the read API answering from Postgres",
        )
        yield service


async def _answers(service: InProcess, path: str, headers: dict[str, str]) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(service.url + path, headers=headers)).status_code == 200


async def read_paths(service: InProcess) -> list[str]:
    """Every GET route of the API, from the OpenAPI document: a new route is covered."""
    document: dict[str, Any] = (await service.get("/openapi.json")).json()
    paths = []
    for path, operations in document["paths"].items():
        if "get" in operations and path.startswith("/api/"):
            for name, value in PATH_VALUES.items():
                path = path.replace(f"{{{name}}}", value)
            assert "{" not in path, f"no test value for a parameter of {path}"
            paths.append(path)
    return paths


@pytest.mark.asyncio
async def test_with_a_read_token_every_read_endpoint_needs_it_or_the_write_token(
    guarded: InProcess,
) -> None:
    paths = await read_paths(guarded)
    assert len(paths) >= 9
    async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as client:
        for path in paths:
            for headers in (
                {},
                bearer(READ + "x"),
                {"Authorization": "Basic x"},
                {"Authorization": READ},
            ):
                refused = await client.get(path, headers=headers)
                assert refused.status_code == 401, (path, headers)
                assert refused.headers["WWW-Authenticate"] == CHALLENGE
                assert "GOLIVE_API_READ_TOKEN" in refused.json()["detail"]
                assert READ not in refused.text
            for token in (READ, WRITE):
                answered = await client.get(path, headers=bearer(token))
                assert answered.status_code in (200, 404), (path, answered.text)


@pytest.mark.asyncio
async def test_probes_metrics_and_the_api_document_stay_open(guarded: InProcess) -> None:
    async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as client:
        for path in OPEN:
            response = await client.get(path)
            assert response.status_code in (200, 503), path  # /readyz: 503 until consuming
            assert response.status_code != 401
        document = (await client.get("/openapi.json")).json()
    releases = document["paths"]["/api/v1/releases"]["get"]
    assert releases["security"] == [{"readToken": []}]
    assert "401" in releases["responses"]
    assert "security" not in document["paths"]["/healthz"]["get"]


@pytest.mark.asyncio
async def test_the_write_endpoint_takes_only_the_write_token(guarded: InProcess) -> None:
    url = "/api/v1/events"
    headers = {"Content-Type": STRUCTURED}
    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as client:
        for auth in ({}, bearer(WRITE + "x"), bearer(READ), bearer(WRITE[:-1])):
            refused = await client.post(url, content=deployment_value(), headers=headers | auth)
            assert refused.status_code == 401, auth
            assert refused.headers["WWW-Authenticate"] == CHALLENGE
        accepted = await client.post(
            url, content=deployment_value(), headers=headers | bearer(WRITE)
        )
    assert accepted.status_code == 202, accepted.text


@pytest.mark.asyncio
async def test_without_a_read_token_reads_are_open_as_before(
    kafka_bootstrap: str, topic: str, database_url: str
) -> None:
    env = service_env(kafka_bootstrap, topic, database_url, GOLIVE_API_TOKEN=WRITE)
    async with running(env) as service:
        await wait_for(
            lambda: _answers(service, "/api/v1/releases", {}),
            timeout=30,
            what="the read API open without a token",
        )
        document = (await service.get("/openapi.json")).json()
    assert "security" not in document["paths"]["/api/v1/releases"]["get"]
