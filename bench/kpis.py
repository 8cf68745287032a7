"""`python -m bench.kpis`: the leader's snapshot refresh and a `/metrics` scrape of the
KPI gauges over a database holding a realistic production history.

The issue's targets: a scrape with 500 services, 50 teams and 20 open releases stays
under 50 ms; the snapshot refresh over 1 million stored events stays under 2 s.

Steps: check on a sample that the bulk fill gives the same database as `write_batch`;
fill a fresh database with `--events` events (bulk, then the last `--tail` events
through `write_batch`); time `load_snapshot` and `generate_latest`; print a summary and
write the JSON result. The scratch databases are dropped at the end, even on error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest

from bench.fixtures import NOW, Mix, Record, catalog_of, plan, stream
from bench.load import (
    BATCH,
    Folder,
    copy_events,
    copy_state,
    differences,
    incoming_of,
    ingest,
    mismatch,
    table_sizes,
)
from golive.domain.catalog import Catalog
from golive.domain.dora import WINDOWS
from golive.domain.snapshot import KpiSnapshot
from golive.metrics.kpis import KpiCollector
from golive.store.db import _init
from golive.store.kpis import load_snapshot
from golive.store.migrations import migrate

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SCRAPE_MS = 50.0
TARGET_REFRESH_S = 2.0
REFRESH_RUNS = 5
SCRAPE_RUNS = 50
COPY_CHUNK = 50_000
STARTED = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr: the fill takes minutes."""
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.kpis", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events stored")
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--releases", type=int, default=20, help="open releases")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("GOLIVE_BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="a Postgres server the benchmark may create databases on "
        "(default: $GOLIVE_BENCH_DATABASE_URL, else the local one)",
    )
    parser.add_argument("--output", type=Path, default=Path("bench/results/kpis.json"))
    parser.add_argument(
        "--tail",
        type=int,
        default=10 * BATCH,
        help="the last events of the stream go through write_batch on the full database",
    )
    parser.add_argument(
        "--verify-events",
        type=int,
        default=30_000,
        help="sample filled both ways and compared before the run (0: skip)",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep the filled database after a successful run, and print its URL",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.tail <= args.events:
        parser.error("--tail must be between 0 and --events (all: the real path only)")
    return args


# --- databases ---------------------------------------------------------------------------


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(sql, timeout=60)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(server: str, *, keep: bool = False) -> AsyncIterator[str]:
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
            say(f"kept the database: {dsn} (DROP DATABASE {name} when done)")
        else:
            try:
                await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except (OSError, asyncpg.PostgresError) as err:
                say(f"could not drop database {name} ({err}): drop it by hand")


async def store_connection(dsn: str) -> asyncpg.Connection:
    """A connection with the store's codecs, as the service's pool hands out."""
    conn = await asyncpg.connect(dsn)
    await _init(conn)
    return conn


# --- filling -----------------------------------------------------------------------------


async def fill(
    dsn: str, mix: Mix, catalog: Catalog, *, tail: int, quiet: bool = False
) -> dict[str, Any]:
    """Bulk-load the first `events - tail` events, then `write_batch` the last `tail`."""
    log = (lambda _m: None) if quiet else say
    began = time.perf_counter()
    planned = plan(mix)
    phases = {"plan": time.perf_counter() - began, "decode": 0.0, "apply": 0.0, "copy": 0.0}
    log(f"planned {planned.events} events in {len(planned.stories)} stories")
    bulk = mix.events - tail
    folder = Folder(catalog)
    held: list[Record] = []
    chunk: list[Record] = []
    copier = await asyncpg.connect(dsn)  # asyncpg's own codecs: COPY takes jsonb as text
    try:

        async def flush() -> None:
            t0 = time.perf_counter()
            items = [incoming_of(r) for r in chunk]
            t1 = time.perf_counter()
            new = folder.add(items)
            t2 = time.perf_counter()
            await copy_events(copier, new)
            t3 = time.perf_counter()
            phases["decode"] += t1 - t0
            phases["apply"] += t2 - t1
            phases["copy"] += t3 - t2
            chunk.clear()

        loaded = 0
        for index, record in enumerate(stream(mix, planned)):
            if index >= bulk:
                held.append(record)
                continue
            chunk.append(record)
            if len(chunk) == COPY_CHUNK:
                await flush()
                loaded += COPY_CHUNK
                elapsed = time.perf_counter() - began
                log(f"bulk: {loaded}/{bulk} events ({loaded / elapsed:,.0f}/s)")
        if chunk:
            await flush()
        t0 = time.perf_counter()
        await copy_state(copier, folder)
        phases["copy_state"] = time.perf_counter() - t0
        log(f"bulk: {bulk} events and their state loaded")
    finally:
        await copier.close()
    bulk_seconds = time.perf_counter() - began
    phases["generate"] = bulk_seconds - sum(phases.values())

    def progress(done: int) -> None:
        if done % COPY_CHUNK == 0:
            log(f"write_batch: {done}/{tail} events")

    conn = await store_connection(dsn)
    try:
        times = await ingest(conn, held, catalog, progress=progress)
        if tail:
            log(
                f"write_batch: {tail} events on top in {times.seconds:.1f}s "
                f"({times.rate:,.0f}/s, {len(times.batch_seconds)} batches)"
            )
        # What autovacuum does to a live database: fresh planner statistics.
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        phases["vacuum_analyze"] = time.perf_counter() - t0
    finally:
        await conn.close()
    return {
        "approach": (
            "write_batch only"
            if bulk == 0
            else "bulk (real decoder, reducers, derivation and codec; COPY) + write_batch tail"
        ),
        "seconds": time.perf_counter() - began,
        "bulk_events": bulk,
        "bulk_seconds": bulk_seconds,
        "phases_seconds": {k: round(v, 3) for k, v in phases.items()},
        "tail": {
            "events": tail,
            "decode_seconds": times.decode_seconds,
            "write_batch_seconds": times.seconds,
            "events_per_second": times.rate,
            "batch_size": BATCH,
            "batch_seconds": _stats(times.batch_seconds) if times.batch_seconds else None,
        },
        "events_by_type": dict(sorted(planned.counts.items())),
    }


async def verify(server: str, mix: Mix, catalog: Catalog) -> dict[str, Any]:
    """Fill a sample both ways; the bulk fill must give the database write_batch gives."""
    say(f"verify: {mix.events} events through write_batch and through the bulk fill")
    records = list(stream(mix))
    async with scratch_database(server) as real, scratch_database(server) as bulk:
        conn = await store_connection(real)
        try:
            times = await ingest(conn, records, catalog)
            say(
                f"verify: write_batch {times.events} events in {times.seconds:.1f}s "
                f"({times.rate:,.0f}/s)"
            )
            await fill(bulk, mix, catalog, tail=min(2 * BATCH, mix.events // 4), quiet=True)
            other = await store_connection(bulk)
            try:
                found = await differences(conn, other)
                snapshots = mismatch(
                    await load_snapshot(conn, catalog, NOW),
                    await load_snapshot(other, catalog, NOW),
                )
                if snapshots is not None:
                    found.append(snapshots)
            finally:
                await other.close()
        finally:
            await conn.close()
    if found:
        problems = "\n  ".join(found)
        raise SystemExit(
            f"the bulk fill does not give the database write_batch gives:\n  {problems}"
        )
    say("verify: both databases are identical, and so are their snapshots")
    return {
        "events": mix.events,
        "tables_identical": True,
        "snapshots_identical": True,
        "write_batch": {
            "events_per_second": times.rate,
            "seconds": times.seconds,
            "decode_seconds": times.decode_seconds,
            "batch_seconds": _stats(times.batch_seconds),
            "note": "from an empty database: the rate falls as history grows (see tail)",
        },
    }


# --- measuring ---------------------------------------------------------------------------


def _stats(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p99": ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)],  # nearest rank
        "max": ordered[-1],
    }


async def measure_refresh(dsn: str, catalog: Catalog) -> tuple[KpiSnapshot, dict[str, Any]]:
    conn = await store_connection(dsn)
    try:
        snapshot = await load_snapshot(conn, catalog, NOW)  # warm-up: plans, caches
        seconds = []
        for _ in range(REFRESH_RUNS):
            t0 = time.perf_counter()
            snapshot = await load_snapshot(conn, catalog, NOW)
            seconds.append(time.perf_counter() - t0)
    finally:
        await conn.close()
    stats = _stats(seconds)
    return snapshot, {
        "runs": REFRESH_RUNS,
        "min_s": stats["min"],
        "median_s": stats["median"],
        "max_s": stats["max"],
        "all_s": seconds,
    }


def measure_scrape(snapshot: KpiSnapshot) -> dict[str, Any]:
    registry = CollectorRegistry()
    collector = KpiCollector()
    collector.snapshot = snapshot
    registry.register(collector)
    exposition = generate_latest(registry)  # warm-up
    millis = []
    for _ in range(SCRAPE_RUNS):
        t0 = time.perf_counter()
        exposition = generate_latest(registry)
        millis.append((time.perf_counter() - t0) * 1000)
    lines = exposition.decode().splitlines()
    stats = _stats(millis)
    return {
        "runs": SCRAPE_RUNS,
        "min_ms": stats["min"],
        "median_ms": stats["median"],
        "p99_ms": stats["p99"],
        "max_ms": stats["max"],
        "bytes": len(exposition),
        "samples": sum(1 for line in lines if line and not line.startswith("#")),
        "families": sum(1 for line in lines if line.startswith("# TYPE")),
    }


def snapshot_shape(snapshot: KpiSnapshot, mix: Mix) -> dict[str, Any]:
    """The snapshot's size against what the parameters should give."""
    expected = {
        "dora_rows": mix.services * 2 * len(WINDOWS),  # staging and prod
        "releases": mix.releases,
        "teams": mix.teams,
    }
    actual = {
        "dora_rows": len(snapshot.dora),
        "releases": len(snapshot.releases),
        "teams": len(snapshot.teams),
    }
    return {
        "expected": expected,
        "actual": actual
        | {
            "deployment_series": len(snapshot.deployments),
            "rollout_histograms": len(snapshot.rollout_duration),
            "rollouts_in_progress": snapshot.rollouts_in_progress,
            "overdue_series": len(snapshot.overdue),
            "objectives": sum(len(r.objectives) for r in snapshot.releases),
        },
        "ok": all(actual[k] == v for k, v in expected.items()),
    }


async def machine(server: str) -> dict[str, Any]:
    conn = await asyncpg.connect(server)
    try:
        postgres = await conn.fetchval("SELECT version()")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather")
        }
    finally:
        await conn.close()
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": postgres,
        "postgres_settings": settings,
    }


# --- the run ---------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    mix = Mix(events=args.events, services=args.services, teams=args.teams, releases=args.releases)
    catalog = catalog_of(mix)
    result: dict[str, Any] = {
        "benchmark": "kpis",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.kpis", *sys.argv[1:]]),
        "machine": await machine(args.database_url),
        "parameters": asdict(mix) | {"now": NOW.isoformat(), "batch": BATCH, "tail": args.tail},
    }
    if args.verify_events:
        sample = Mix(
            events=args.verify_events, services=mix.services, teams=mix.teams, releases=mix.releases
        )
        result["verification"] = await verify(args.database_url, sample, catalog_of(sample))
    async with scratch_database(args.database_url, keep=args.keep_database) as dsn:
        say(f"fill: {mix.events} events, {mix.services} services, {mix.teams} teams")
        result["fill"] = await fill(dsn, mix, catalog, tail=args.tail)
        conn = await asyncpg.connect(dsn)
        try:
            result["tables"] = await table_sizes(conn)
            result["database_bytes"] = int(
                await conn.fetchval("SELECT pg_database_size(current_database())")
            )
        finally:
            await conn.close()
        say(f"refresh: load_snapshot, 1 warm-up + {REFRESH_RUNS} runs")
        snapshot, result["refresh"] = await measure_refresh(dsn, catalog)
    result["snapshot"] = snapshot_shape(snapshot, mix)
    say(f"scrape: generate_latest, 1 warm-up + {SCRAPE_RUNS} runs")
    result["scrape"] = measure_scrape(snapshot)
    scrape_p99 = result["scrape"]["p99_ms"]
    refresh_max = result["refresh"]["max_s"]
    result["targets"] = {
        "scrape_ms": {
            "target": TARGET_SCRAPE_MS,
            "statistic": "p99",
            "measured": scrape_p99,
            "met": scrape_p99 < TARGET_SCRAPE_MS,
        },
        "refresh_s": {
            "target": TARGET_REFRESH_S,
            "statistic": "max",
            "measured": refresh_max,
            "met": refresh_max < TARGET_REFRESH_S,
        },
    }
    return result


def summary(result: dict[str, Any]) -> str:
    fill, refresh, scrape = result["fill"], result["refresh"], result["scrape"]
    shape, targets = result["snapshot"], result["targets"]
    tail = fill["tail"]
    lines = [
        f"golive KPI benchmark: {result['parameters']['events']:,} events, "
        f"{result['parameters']['services']} services, {result['parameters']['teams']} teams, "
        f"{result['parameters']['releases']} open releases",
        f"machine: {result['machine']['cpu_count']} CPUs, Python {result['machine']['python']}, "
        f"{result['machine']['postgres'].split(' on ')[0]}",
    ]
    if "verification" in result:
        v = result["verification"]
        lines.append(
            f"verified: bulk fill == write_batch on {v['events']:,} events "
            f"(write_batch from empty: {v['write_batch']['events_per_second']:,.0f} events/s)"
        )
    lines += [
        f"fill: {fill['seconds']:.1f}s (bulk {fill['bulk_events']:,} events in "
        f"{fill['bulk_seconds']:.1f}s; write_batch tail {tail['events']:,} events at "
        f"{tail['events_per_second']:,.0f} events/s on the full database)",
        f"database: {result['database_bytes'] / 2**20:,.0f} MiB; "
        + ", ".join(f"{t} {s['rows']:,}" for t, s in result["tables"].items()),
        f"snapshot: {shape['actual']['dora_rows']} DORA rows, {shape['actual']['releases']} "
        f"releases, {shape['actual']['teams']} teams"
        + ("" if shape["ok"] else f"  (EXPECTED {shape['expected']})"),
        f"refresh (load_snapshot, {refresh['runs']} runs): min {refresh['min_s']:.3f}s, "
        f"median {refresh['median_s']:.3f}s, max {refresh['max_s']:.3f}s",
        f"scrape (generate_latest, {scrape['runs']} runs): min {scrape['min_ms']:.2f} ms, "
        f"median {scrape['median_ms']:.2f} ms, p99 {scrape['p99_ms']:.2f} ms; "
        f"{scrape['bytes']:,} bytes, {scrape['samples']:,} samples",
    ]
    for name, t in targets.items():
        verdict = "met" if t["met"] else "MISSED"
        lines.append(
            f"target {name} < {t['target']:g} ({t['statistic']}): {t['measured']:.3f} -> {verdict}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = asyncio.run(run(args))
    except (OSError, asyncpg.PostgresError) as err:
        print(f"bench.kpis: Postgres at {args.database_url} failed: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"bench.kpis: {err}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(result))
    print(f"written to {args.output}")
    return 0 if result["snapshot"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
