"""Leader election: a session-level Postgres advisory lock on a dedicated connection.

Holding the lock is being the leader. Losing the connection (crash, network, Postgres
restart) releases it on the server side; a standby that retries each evaluation
interval then takes over within one interval.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from golive.store.db import UNAVAILABLE

log = logging.getLogger(__name__)

# pg_advisory_lock key for "the golive leader", fixed forever ("golive:leader").
LEADER_LOCK = 0x676F6C6976654C44
CHECK_TIMEOUT = 5.0


class LeaderLock:
    def __init__(self, dsn: str, key: int = LEADER_LOCK) -> None:
        self.dsn, self.key = dsn, key
        self._conn: asyncpg.Connection | None = None
        self.held = False

    async def check(self) -> bool:
        """Keep or try to take the lock; return whether this instance leads now."""
        try:
            if self._conn is None or self._conn.is_closed():
                self.held = False
                self._conn = await asyncpg.connect(self.dsn, timeout=CHECK_TIMEOUT)
            if self.held:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), CHECK_TIMEOUT)
            else:
                self.held = bool(
                    await asyncio.wait_for(
                        self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key),
                        CHECK_TIMEOUT,
                    )
                )
        except (*UNAVAILABLE, TimeoutError) as err:
            if self.held:
                log.warning("lost the leader lock's connection: %s", err)
            await self._drop()
        return self.held

    async def release(self) -> None:
        if self._conn is not None and not self._conn.is_closed() and self.held:
            try:
                await asyncio.wait_for(
                    self._conn.execute("SELECT pg_advisory_unlock($1)", self.key), CHECK_TIMEOUT
                )
            except (*UNAVAILABLE, TimeoutError):
                pass
        await self._drop()

    async def _drop(self) -> None:
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
