"""`python -m bench.kpis`: the leader's snapshot refresh, a `/metrics` scrape of the KPI
gauges and a monthly report over a database holding a realistic production history.

The issues' targets: a scrape with 500 services, 50 teams and 20 open releases stays
under 50 ms; the snapshot refresh over 1 million stored events stays under 2 s; so does
a monthly report (computed and rendered in its three formats).

Steps: check on a sample that the bulk fill gives the same database as `write_batch`;
fill a fresh database with `--events` events (bulk, then the last `--tail` events
through `write_batch`); time `load_snapshot` and `generate_latest`; print a summary and
write the JSON result. The scratch databases are dropped at the end, even on error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest

from bench.databases import (
    differences,
    mismatch,
    scratch_database,
    store_connection,
    table_sizes,
)
from bench.fixtures import PARTITIONS, TOPIC, stream
from bench.load import BATCH, fill, ingest, spread
from bench.mix import NOW, Mix, catalog_of
from golive.domain.catalog import Catalog
from golive.domain.dora import WINDOWS
from golive.domain.periods import last_complete
from golive.domain.snapshot import KpiSnapshot
from golive.metrics.ingest import IngestMetrics
from golive.metrics.kpis import KpiCollector, LeaderMetrics, state_families
from golive.reports import html, markdown
from golive.reports.document import to_document
from golive.store.kpis import load_snapshot
from golive.store.reports import load_report

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SCRAPE_MS = 50.0
TARGET_REFRESH_S = 2.0
TARGET_REPORT_S = 2.0
REFRESH_RUNS = 5
REPORT_RUNS = 5
SCRAPE_RUNS = 50
PUBLISH_RUNS = 10
STARTED = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr: the fill takes minutes."""
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def _quiet(_message: str) -> None:
    pass


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
        help="the last events of the stream go through write_batch on top of the bulk "
        f"fill (default: {10 * BATCH} or a tenth of --events; --tail N=--events: all of them)",
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
    if args.tail is None:
        args.tail = min(10 * BATCH, args.events // 10)
    if not 0 <= args.tail <= args.events:
        parser.error("--tail must be between 0 and --events (all: the real path only)")
    return args


async def verify(server: str, mix: Mix, catalog: Catalog) -> dict[str, Any]:
    """Fill a sample both ways; the bulk fill must give the database write_batch gives."""
    say(f"verify: {mix.events} events through write_batch and through the bulk fill")
    records = list(stream(mix))
    async with scratch_database(server, say) as real, scratch_database(server, say) as bulk:
        conn = await store_connection(real)
        try:
            times = await ingest(conn, records, catalog)
            say(
                f"verify: write_batch {times.events} events in {times.seconds:.1f}s "
                f"({times.rate:,.0f}/s)"
            )
            await fill(bulk, mix, catalog, tail=min(2 * BATCH, mix.events // 4), log=_quiet)
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
            "batch_seconds": spread(times.batch_seconds),
            "note": "from an empty database: the rate falls as history grows (see tail)",
        },
    }


# --- measuring ---------------------------------------------------------------------------


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
    stats = spread(seconds)
    return snapshot, {
        "runs": REFRESH_RUNS,
        "min_s": stats["min"],
        "median_s": stats["median"],
        "max_s": stats["max"],
        "all_s": seconds,
    }


async def measure_report(dsn: str, catalog: Catalog) -> dict[str, Any]:
    """The monthly report of the last complete month at NOW, as the leader publishes it:
    `load_report`, then the three formats."""
    period = last_complete("monthly", NOW, "UTC")
    conn, helper = await store_connection(dsn), await store_connection(dsn)
    try:
        await load_report(conn, catalog, period, NOW, helper=helper)  # warm-up
        load, render = [], []
        for _ in range(REPORT_RUNS):
            t0 = time.perf_counter()
            report = await load_report(conn, catalog, period, NOW, helper=helper)
            t1 = time.perf_counter()
            json.dumps(to_document(report))
            markdown.render(report)
            html.render(report)
            render.append(time.perf_counter() - t1)
            load.append(t1 - t0)
        events = await conn.fetchval(
            "SELECT count(*) FROM events WHERE time >= $1 AND time < $2", period.start, period.end
        )
    finally:
        await conn.close()
        await helper.close()
    total = [a + b for a, b in zip(load, render, strict=True)]
    return {
        "period": period.label,
        "events_in_period": events,
        "runs": REPORT_RUNS,
        "load_s": spread(load),
        "render_s": spread(render),
        "total_s": spread(total),
        "sections": {
            "releases": len(report.releases),
            "teams": len(report.teams),
            "rollouts": len(report.rollouts),
            "incidents": len(report.incidents),
            "idle_periods": sum(len(t.idle_periods) for t in report.teams),
        },
    }


def measure_scrape(snapshot: KpiSnapshot, events_by_type: dict[str, int]) -> dict[str, Any]:
    """`/metrics` as `golive.api.app` serves it: this instance's own metrics rendered at
    scrape time, then the leader's state metrics, rendered once per snapshot when the
    evaluator publishes it (`KpiCollector.publish`). Both costs are measured."""
    registry = CollectorRegistry()
    ingest_metrics, leader = IngestMetrics(registry), LeaderMetrics(registry)
    # The instance's own series as they look after the fill.
    ingest_metrics.count(events_by_type, "applied")
    ingest_metrics.set_lag({(TOPIC, p): 0 for p in range(PARTITIONS)})
    ingest_metrics.ready.set(1)
    leader.leader.set(1)
    for _ in range(10):
        ingest_metrics.batch_size.observe(BATCH)
        ingest_metrics.batch_duration.observe(1.0)
        ingest_metrics.event_lag.observe(0.5)
        leader.evaluation_duration.observe(2.0)
    collector = KpiCollector()

    collector.publish(snapshot)  # warm-up
    publish, collect = [], []
    for _ in range(PUBLISH_RUNS):
        t0 = time.perf_counter()
        collector.publish(snapshot)
        t1 = time.perf_counter()
        families = list(state_families(snapshot))
        publish.append((t1 - t0) * 1000)
        collect.append((time.perf_counter() - t1) * 1000)

    exposition = generate_latest(registry) + collector.rendered  # warm-up
    millis = []
    for _ in range(SCRAPE_RUNS):
        t0 = time.perf_counter()
        exposition = generate_latest(registry) + collector.rendered
        millis.append((time.perf_counter() - t0) * 1000)
    lines = exposition.decode().splitlines()
    by_family = {f.name: len(f.samples) for f in families}
    scrape, rendering = spread(millis), spread(publish)
    return {
        "runs": SCRAPE_RUNS,
        "min_ms": scrape["min"],
        "median_ms": scrape["median"],
        "p99_ms": scrape["p99"],
        "max_ms": scrape["max"],
        "bytes": len(exposition),
        "samples": sum(1 for line in lines if line and not line.startswith("#")),
        "families": sum(1 for line in lines if line.startswith("# TYPE")),
        "publish": {
            "what": "KpiCollector.publish: the state metrics rendered once per snapshot",
            "runs": PUBLISH_RUNS,
            "min_ms": rendering["min"],
            "median_ms": rendering["median"],
            "max_ms": rendering["max"],
            "collect_median_ms": statistics.median(collect),
            "bytes": len(collector.rendered),
            "samples": sum(by_family.values()),
            "samples_by_family": dict(sorted(by_family.items(), key=lambda kv: -kv[1])),
        },
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
    # SIGTERM cancels the run like Ctrl-C does, so the scratch databases are dropped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
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
    async with scratch_database(args.database_url, say, keep=args.keep_database) as dsn:
        say(f"fill: {mix.events} events, {mix.services} services, {mix.teams} teams")
        result["fill"] = await fill(dsn, mix, catalog, tail=args.tail, log=say)
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
        say(f"report: the last complete month, 1 warm-up + {REPORT_RUNS} runs")
        result["report"] = await measure_report(dsn, catalog)
    result["snapshot"] = snapshot_shape(snapshot, mix)
    say(f"scrape: publish x {PUBLISH_RUNS}, then /metrics x {SCRAPE_RUNS} (1 warm-up each)")
    result["scrape"] = measure_scrape(snapshot, result["fill"]["events_by_type"])
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
            "note": "load_snapshot alone; each refresh the leader then also spends "
            "scrape.publish rendering the snapshot",
        },
        "monthly_report_s": {
            "target": TARGET_REPORT_S,
            "statistic": "max",
            "measured": result["report"]["total_s"]["max"],
            "met": result["report"]["total_s"]["max"] < TARGET_REPORT_S,
            "note": "load_report and rendering JSON, Markdown and HTML",
        },
    }
    return result


def summary(result: dict[str, Any]) -> str:
    fill, refresh, scrape = result["fill"], result["refresh"], result["scrape"]
    report = result["report"]
    shape, targets = result["snapshot"], result["targets"]
    tail = fill["tail"]
    lines = [
        f"golive KPI benchmark: {result['parameters']['events']:,} events, "
        f"{result['parameters']['services']} services, {result['parameters']['teams']} teams, "
        f"{result['parameters']['releases']} open releases",
        f"machine: {result['machine']['cpu_count']} CPUs, Python {result['machine']['python']}, "
        f"{result['machine']['postgres'].split(' on ')[0]}; "
        f"peak RSS {result['machine'].get('peak_rss_mib', 0):,.0f} MiB",
    ]
    if "verification" in result:
        v = result["verification"]
        lines.append(
            f"verified: bulk fill == write_batch on {v['events']:,} events "
            f"(write_batch from empty: {v['write_batch']['events_per_second']:,.0f} events/s)"
        )
    if fill["bulk_events"]:
        lines.append(
            f"fill: {fill['seconds']:.1f}s (bulk {fill['bulk_events']:,} events in "
            f"{fill['bulk_seconds']:.1f}s; write_batch tail {tail['events']:,} events at "
            f"{tail['events_per_second']:,.0f} events/s on the full database)"
        )
    else:
        lines.append(
            f"fill: {fill['seconds']:.1f}s (all {tail['events']:,} events through write_batch "
            f"at {tail['events_per_second']:,.0f} events/s)"
        )
    lines += [
        f"database: {result['database_bytes'] / 2**20:,.0f} MiB; "
        + ", ".join(f"{t} {s['rows']:,}" for t, s in result["tables"].items()),
        f"snapshot: {shape['actual']['dora_rows']} DORA rows, {shape['actual']['releases']} "
        f"releases, {shape['actual']['teams']} teams"
        + ("" if shape["ok"] else f"  (EXPECTED {shape['expected']})"),
        f"refresh (load_snapshot, {refresh['runs']} runs): min {refresh['min_s']:.3f}s, "
        f"median {refresh['median_s']:.3f}s, max {refresh['max_s']:.3f}s; then publish "
        f"(render the state metrics) median {scrape['publish']['median_ms'] / 1000:.3f}s",
        f"monthly report {report['period']} ({report['events_in_period']:,} events in the "
        f"month; {report['runs']} runs): total min {report['total_s']['min']:.3f}s, median "
        f"{report['total_s']['median']:.3f}s, max {report['total_s']['max']:.3f}s (load_report "
        f"median {report['load_s']['median']:.3f}s, render JSON + Markdown + HTML median "
        f"{report['render_s']['median']:.3f}s)",
        f"scrape (/metrics path, {scrape['runs']} runs): min {scrape['min_ms']:.2f} ms, "
        f"median {scrape['median_ms']:.2f} ms, p99 {scrape['p99_ms']:.2f} ms "
        f"(rendering per snapshot, in the leader: {scrape['publish']['median_ms']:.0f} ms); "
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
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench.kpis: interrupted", file=sys.stderr)
        return 130
    except (OSError, asyncpg.PostgresError) as err:
        print(f"bench.kpis: Postgres at {args.database_url} failed: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"bench.kpis: {err}", file=sys.stderr)
        return 2
    # ru_maxrss is in KiB on Linux.
    result["machine"]["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(result))
    print(f"written to {args.output}")
    return 0 if result["snapshot"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
