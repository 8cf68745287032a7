"""PostgreSQL helpers for integration tests: a fresh database per test on a shared server.

A database, not a schema, per test: golive's migrations own the `public` schema, and
`DROP DATABASE ... WITH (FORCE)` cleans up even when a test leaves connections open.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from golive.store.db import _init
from golive.store.migrations import migrate

CONNECT_TIMEOUT = 10.0


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at `database` on the same server, user and options."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def accepts_connections(dsn: str, timeout: float) -> bool:
    """Whether a server at `dsn` lets us in within `timeout` seconds."""
    try:
        connection = await asyncpg.connect(dsn, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await connection.close(timeout=timeout)
    return True


async def execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        await connection.execute(sql, timeout=CONNECT_TIMEOUT)
    finally:
        await connection.close(timeout=CONNECT_TIMEOUT)


@asynccontextmanager
async def fresh_database(server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database `golive_test_<hex>` on `server_dsn`'s server, dropped after."""
    name = f"golive_test_{secrets.token_hex(6)}"
    await execute(server_dsn, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_dsn, name)
    finally:
        # Shielded: a cancelled test must not leak its database on a shared server.
        await asyncio.shield(execute(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `dsn`, set up as golive's pool sets up its own, on a migrated
    database; closed on the way out."""
    conn = await asyncpg.connect(dsn)
    try:
        await _init(conn)
        await migrate(conn)
        yield conn
    finally:
        await conn.close()
