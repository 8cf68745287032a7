"""Scratch databases for the benchmarks, and how to compare and size them."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from golive.store.db import Connection, _init
from golive.store.migrations import migrate


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(sql, timeout=60)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(
    server: str, log: Callable[[str], None], *, keep: bool = False
) -> AsyncIterator[str]:
    """A new migrated database on `server`'s server, dropped on the way out unless
    `keep` (and the run succeeded): then its URL is printed, to look into it."""
    name = f"golive_bench_{secrets.token_hex(4)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    dsn = _with_database(server, name)
    kept = False
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield dsn
        kept = keep
    finally:
        if kept:
            log(f"kept the database: {dsn} (DROP DATABASE {name} when done)")
        else:
            drop = asyncio.ensure_future(
                _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
            # A second SIGTERM while dropping must not leave the database behind.
            while not drop.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(drop)
            if drop.exception() is not None:
                log(f"could not drop database {name} ({drop.exception()}): drop it by hand")


async def store_connection(dsn: str) -> asyncpg.Connection:
    """A connection with the store's codecs, as the service's pool hands out."""
    conn = await asyncpg.connect(dsn)
    await _init(conn)
    return conn


# --- checks and sizes ---------------------------------------------------------------------

# The order tables are listed in; tables added by later migrations follow, by name.
TABLES = (
    "events",
    "releases",
    "tasks",
    "teams",
    "rollouts",
    "incidents",
    "changes",
    "artifacts",
    "timelines",
    "deployments",
    "recoveries",
    "artifact_changes",
    "event_counts",
    "consumer_offsets",
)
WALL_CLOCK_COLUMNS = {"updated_at", "ingested_at"}


async def golive_tables(conn: Connection) -> list[str]:
    """Every table the migrations created (`schema_migrations` aside)."""
    names = {
        r["table_name"]
        for r in await conn.fetch(
            """SELECT table_name FROM information_schema.tables
               WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                 AND table_name <> 'schema_migrations'"""
        )
    }
    return [t for t in TABLES if t in names] + sorted(names - set(TABLES))


async def _rows(conn: Connection, table: str) -> list[tuple[Any, ...]]:
    columns = [
        r["column_name"]
        for r in await conn.fetch(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position""",
            table,
        )
        if r["column_name"] not in WALL_CLOCK_COLUMNS
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    query = f'SELECT {select} FROM "{table}" ORDER BY {order}'
    return [tuple(r) for r in await conn.fetch(query)]


async def differences(a: Connection, b: Connection) -> list[str]:
    """What differs between two databases, table by table; empty when they agree."""
    found = []
    for table in await golive_tables(a):
        left, right = await _rows(a, table), await _rows(b, table)
        if left == right:
            continue
        first = next(
            (i for i, (x, y) in enumerate(zip(left, right, strict=False)) if x != y),
            min(len(left), len(right)),
        )
        show = [str(rows[first])[:300] if first < len(rows) else "-" for rows in (left, right)]
        found.append(
            f"{table}: {len(left)} vs {len(right)} rows; first difference at row {first}: "
            f"{show[0]} != {show[1]}"
        )
    return found


def mismatch(a: object, b: object, where: str = "snapshot") -> str | None:
    """Where two values (dataclasses, containers, numbers) differ, or None. Floats are
    compared to 1e-9: Postgres sums float8 columns in physical row order, which differs
    between two databases holding the same rows."""
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        pairs = [(f.name, getattr(a, f.name), getattr(b, f.name)) for f in fields(a)]
        return next((m for n, x, y in pairs if (m := mismatch(x, y, f"{where}.{n}"))), None)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
        return next(
            (
                m
                for i, (x, y) in enumerate(zip(a, b, strict=True))
                if (m := mismatch(x, y, f"{where}[{i}]"))
            ),
            None,
        )
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return next((m for k in a if (m := mismatch(a[k], b[k], f"{where}[{k!r}]"))), None)
    if isinstance(a, float) and isinstance(b, float):
        return None if math.isclose(a, b, rel_tol=1e-9) else f"{where}: {a!r} != {b!r}"
    return None if a == b else f"{where}: {a!r} != {b!r}"


async def table_sizes(conn: Connection) -> dict[str, dict[str, int]]:
    """Rows and bytes on disk (table, indexes and TOAST) of every golive table."""
    sizes = {}
    for table in await golive_tables(conn):
        rows = int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))
        size = int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table))
        sizes[table] = {"rows": rows, "bytes": size}
    return sizes
