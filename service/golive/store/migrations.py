"""Forward-only SQL migrations, applied under an advisory lock so that instances
starting together do not race. Each file `NNNN_name.sql` runs once, in its own
transaction, and is recorded in `schema_migrations`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

from golive.store.db import Connection
from golive.store.errors import MigrationError

log = logging.getLogger(__name__)

# pg_advisory_lock key: "golive:migrate" folded into a bigint, fixed forever.
MIGRATION_LOCK = 0x676F6C6976656D67


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    files = resources.files("golive.store") / "migrations"
    found = []
    for entry in files.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: Connection) -> list[Migration]:
    """Apply the missing migrations; return those applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        known = available()
        newest = max((m.version for m in known), default=0)
        if done and max(done) > newest:
            raise MigrationError(
                f"the database is at schema version {max(done)}, newer than this golive "
                f"({newest}): upgrade golive"
            )
        applied = []
        for migration in known:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %04d %s", migration.version, migration.name)
            applied.append(migration)
        return applied
    finally:
        # A session lock dies with its connection: nothing to unlock on a closed one.
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
