"""Which asyncpg failures mean "Postgres is not there right now" (retry) and which mean
"this data is refused" (dead-letter)."""

import asyncpg
import pytest

from golive.store.db import translated
from golive.store.errors import StoreRejectedError, StoreUnavailableError


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.InterfaceError("the underlying connection is closed"),
        # What a pooled connection whose backend was killed while idle raises on next use.
        asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
async def test_connection_failures_are_retried_as_unavailable(error: Exception) -> None:
    with pytest.raises(StoreUnavailableError, match="Postgres unavailable"):
        async with translated():
            raise error


@pytest.mark.asyncio
async def test_data_the_database_refuses_is_not_retried() -> None:
    with pytest.raises(StoreRejectedError):
        async with translated():
            raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")


@pytest.mark.asyncio
async def test_data_over_a_postgres_limit_is_refused_not_retried() -> None:
    with pytest.raises(StoreRejectedError):
        async with translated():
            raise asyncpg.exceptions.ProgramLimitExceededError("index row requires 20024 bytes")
