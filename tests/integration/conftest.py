"""Session-wide real parts for integration tests, and a fresh topic and database per test.

`GOLIVE_TEST_KAFKA_BOOTSTRAP_SERVERS` and `GOLIVE_TEST_DATABASE_URL` point the suite at
running servers; otherwise it uses the local Postgres on 127.0.0.1:5432 if one answers,
and starts embedded ones (Tansu, PostgreSQL 18) for the session.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from golive.embedded.broker import EmbeddedBroker
from golive.embedded.postgres import EmbeddedPostgres
from tests.integration.databases import accepts_connections, fresh_database
from tests.integration.kafka import create_topic

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
TOPIC_PARTITIONS = 6

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this directory's.
    for item in items:
        if _HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _collect_garbage_in_teardown() -> Iterator[None]:
    """Collect each test's garbage in its own teardown: an object it left unclosed (a
    socket, a transport) is then reported against it, not against whichever later test
    the garbage collector happens to run in."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker."""
    configured = os.environ.get("GOLIVE_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    # The log stays in pytest's temp dir, to read after a failed run.
    log_path = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with EmbeddedBroker(log_path=log_path) as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of the session's PostgreSQL server (its `postgres` database)."""
    configured = os.environ.get("GOLIVE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    # A sync fixture runs outside the tests' event loops: a short loop of its own is fine.
    if asyncio.run(accepts_connections(LOCAL_POSTGRES, timeout=2.0)):
        yield LOCAL_POSTGRES
        return
    with EmbeddedPostgres() as server:
        yield server.dsn


@pytest_asyncio.fixture
async def database_url(postgres_dsn: str) -> AsyncIterator[str]:
    """DSN of a new, empty database for this test, dropped afterwards."""
    async with fresh_database(postgres_dsn) as dsn:
        yield dsn


@pytest_asyncio.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    """Name of a new topic with six partitions for this test.

    Not deleted afterwards: names never repeat, and the embedded broker keeps topics in
    memory only.
    """
    name = f"golive-test-{secrets.token_hex(6)}"
    await create_topic(kafka_bootstrap, name, TOPIC_PARTITIONS)
    yield name
