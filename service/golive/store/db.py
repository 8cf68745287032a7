"""Connecting to Postgres: the pool, its codecs, and error translation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from golive import fastjson
from golive.store.errors import StoreRejectedError, StoreUnavailableError

# A connection, whether taken from a pool or opened directly.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

# asyncpg errors that mean "the database is not there right now", not "bad query".
UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # A pooled connection whose backend was terminated while idle can fail its next use
    # with this instead of a disconnect error (MagicStack/asyncpg#1069; SQLAlchemy treats
    # it as a disconnect too, sqlalchemy#13241). The pool discards it; retrying is right.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    # Class 53: disk full, out of memory, too many connections. The server cannot take
    # the write now; the same write succeeds once an operator frees space. Retrying (and
    # reporting not-ready meanwhile) loses nothing; refusing the batch would dead-letter
    # good events, and letting it escape would stop the service (docs/reliability.md).
    asyncpg.exceptions.InsufficientResourcesError,
    # A primary demoted to a standby (failover in progress) refuses writes until the
    # connection reaches the new primary.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=fastjson.loads, schema="pg_catalog"
    )


class PacedConnection(asyncpg.Connection):
    """A connection that rests after each statement for as long as the statement took.

    For work nobody waits on, such as the leader's snapshot and reports: its Postgres
    backend is then busy at most about half of the time, and ingest's statements, which
    someone does wait on, find a core more often. On 2 vCPUs this took the p99 latency
    at 2,000 events/s from 210-250 ms to 152-174 ms (docs/performance.md)."""

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._paced(super().fetch(*args, **kwargs))

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._paced(super().fetchval(*args, **kwargs))

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._paced(super().fetchrow(*args, **kwargs))

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._paced(super().execute(*args, **kwargs))

    @staticmethod
    async def _paced(statement: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await statement
        finally:
            await asyncio.sleep(time.perf_counter() - started)


async def create_pool(
    dsn: str,
    *,
    size: int = 4,
    timeout: float = 10.0,
    connection_class: type[asyncpg.Connection] = asyncpg.Connection,
) -> asyncpg.Pool:
    """A connection pool; raises `StoreUnavailableError` when Postgres cannot be reached."""
    try:
        pool: asyncpg.Pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=size,
            init=_init,
            timeout=timeout,
            command_timeout=60,
            connection_class=connection_class,
        )
    except UNAVAILABLE as err:
        raise StoreUnavailableError(f"cannot connect to Postgres: {err}") from err
    return pool


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn connection-level asyncpg failures into `StoreUnavailableError`."""
    try:
        yield
    except UNAVAILABLE as err:
        raise StoreUnavailableError(f"Postgres unavailable: {type(err).__name__}: {err}") from err
    except (
        asyncpg.exceptions.DataError,
        asyncpg.exceptions.IntegrityConstraintViolationError,
        # Class 54: e.g. a 20 KB entity name is over an index row's size limit. Data that
        # will never fit: the batch is split and the event dead-lettered, not retried.
        asyncpg.exceptions.ProgramLimitExceededError,
    ) as err:
        raise StoreRejectedError(f"{type(err).__name__}: {err}") from err
