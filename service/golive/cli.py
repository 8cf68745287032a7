"""The `golive` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from golive.config import ConfigError, Settings, load_settings
from golive.contract import DEFAULT_MAX_EVENT_BYTES, Event, Rejection, decode_record
from golive.domain.periods import PERIOD_KINDS, require_timezone
from golive.store.errors import StoreUnavailableError


def _parse_header(text: str) -> tuple[str, bytes]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE, e.g. ce_id=abc")
    return key, value.encode()


def describe(event: Event) -> dict[str, Any]:
    """The normalised view of an event that `check-event` prints."""
    return {
        "type": event.type,
        "name": event.name,
        "id": event.id,
        "source": event.source,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "mode": str(event.mode),
        "specversion": event.spec_version,
        "subject": {"id": event.subject_id, "source": event.subject_source},
        "team": event.team,
        "entities": event.entity_keys(),
        "content": event.content.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def check_event(args: argparse.Namespace) -> int:
    headers: list[tuple[str, bytes]] = args.header or []
    rejected = 0
    for name in args.files:
        try:
            value = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as err:
            print(f"{name}: cannot read: {err.strerror}", file=sys.stderr)
            rejected += 1
            continue
        result = decode_record(value, headers, max_bytes=args.max_bytes)
        if isinstance(result, Rejection):
            rejected += 1
            if args.json:
                print(
                    json.dumps(
                        {
                            "file": name,
                            "accepted": False,
                            "kind": str(result.kind),
                            "reason": result.reason,
                        }
                    )
                )
            else:
                print(f"{name}: REJECTED ({result.kind}) {result.reason}")
        elif args.json:
            print(json.dumps({"file": name, "accepted": True, "event": describe(result)}))
        else:
            print(f"{name}: OK")
            for line in json.dumps(describe(result), indent=2).splitlines():
                print(f"  {line}")
    return 1 if rejected else 0


def _settings() -> Settings:
    return load_settings()


def run_command(_args: argparse.Namespace) -> int:
    from golive import app, logs

    settings = _settings()
    logs.configure(settings.log_level)
    return asyncio.run(app.run(settings))


def demo_command(args: argparse.Namespace) -> int:
    from golive import app, logs

    settings = load_settings()
    logs.configure("WARNING")
    return asyncio.run(app.run_demo(settings, live_seconds=args.live_seconds))


def migrate_command(_args: argparse.Namespace) -> int:
    from golive.store.db import create_pool
    from golive.store.migrations import migrate

    settings = _settings()
    dsn = settings.require_database()

    async def go() -> int:
        pool = await create_pool(dsn)
        try:
            async with pool.acquire() as conn:
                applied = await migrate(conn)
        finally:
            await pool.close()
        print(
            f"applied {len(applied)} migration(s)"
            + "".join(f"\n  {m.version:04d} {m.name}" for m in applied)
        )
        return 0

    return asyncio.run(go())


def replay_command(_args: argparse.Namespace) -> int:
    from golive.config import load_catalog
    from golive.store.db import create_pool
    from golive.store.migrations import migrate
    from golive.store.replay import replay

    settings = _settings()
    dsn = settings.require_database()
    catalog = load_catalog(settings)

    def progress(done: int, total: int) -> None:
        print(f"\rreplayed {done}/{total} events", end="", file=sys.stderr, flush=True)

    async def go() -> int:
        pool = await create_pool(dsn)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
                result = await replay(
                    conn, catalog, max_bytes=settings.max_event_bytes, progress=progress
                )
        finally:
            await pool.close()
        print(file=sys.stderr)
        print(f"rebuilt projections from {result.events} events ({result.undecodable} undecodable)")
        return 0

    return asyncio.run(go())


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date, e.g. 2026-11-23") from None


def _zone(text: str) -> str:
    try:
        return require_timezone(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def report_command(args: argparse.Namespace) -> int:
    from golive.config import load_catalog
    from golive.domain.periods import report_period
    from golive.reports import html, markdown
    from golive.reports.document import to_document
    from golive.store.db import create_pool, translated
    from golive.store.reports import UnknownRelease, load_report

    settings = _settings()
    dsn = settings.require_database()
    catalog = load_catalog(settings)
    zone = args.timezone or settings.report_timezone
    now = datetime.now(UTC)
    period = report_period(args.period, args.at, now, zone)

    async def go() -> int:
        pool = await create_pool(dsn)
        try:
            async with translated(), pool.acquire() as conn, pool.acquire() as helper:
                report = await load_report(conn, catalog, period, now, args.release, helper=helper)
        except UnknownRelease as err:
            print(f"golive: {err}", file=sys.stderr)
            return 1
        finally:
            await pool.close()
        if args.format == "json":
            print(json.dumps(to_document(report), indent=2, ensure_ascii=False))
        else:
            render = html.render if args.format == "html" else markdown.render
            print(render(report), end="")
        return 0

    return asyncio.run(go())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="golive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check-event",
        help="decode event files as golive would and print the result",
        description=(
            "Decode each file as golive decodes a Kafka record value (structured CloudEvent "
            "or plain CDEvent; add --header ce_...=... for binary mode). Prints the "
            "normalised event or the reason it is rejected; exits 1 if any is rejected."
        ),
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="event file, or - for stdin")
    check.add_argument(
        "--header",
        action="append",
        type=_parse_header,
        metavar="KEY=VALUE",
        help="a Kafka record header (repeatable), e.g. ce_specversion=1.0 for binary mode",
    )
    check.add_argument("--json", action="store_true", help="one JSON object per file")
    check.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_EVENT_BYTES, help="size limit (default 1 MiB)"
    )
    check.set_defaults(handler=check_event)

    run = commands.add_parser("run", help="run the service (consume, store, serve HTTP)")
    run.set_defaults(handler=run_command)
    demo = commands.add_parser(
        "demo",
        help="embedded broker + Postgres (unless configured), golive, and a simulated rollout",
    )
    demo.add_argument("--live-seconds", type=float, default=90.0, help="length of the live part")
    demo.set_defaults(handler=demo_command)
    mig = commands.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(handler=migrate_command)
    rep = commands.add_parser("replay", help="rebuild every projection from the events table")
    rep.set_defaults(handler=replay_command)
    report = commands.add_parser(
        "report",
        help="print the daily, weekly or monthly report",
        description=(
            "Print the report of a period: by default the last complete one; with --at, "
            "the one containing that date (still running: figures so far). Periods are "
            "local days, ISO weeks and months in GOLIVE_REPORT_TIMEZONE (or --timezone)."
        ),
    )
    report.add_argument("--period", choices=PERIOD_KINDS, default="daily", help="default: daily")
    report.add_argument("--at", type=_date, metavar="DATE", help="a day of the period (YYYY-MM-DD)")
    report.add_argument("--release", metavar="ID", help="only this release and its services")
    report.add_argument(
        "--format",
        choices=("md", "json", "html"),
        default="md",
        help="md (default), json, or html: one self-contained page with charts",
    )
    report.add_argument(
        "--timezone", type=_zone, metavar="ZONE", help="IANA zone, e.g. Europe/Paris"
    )
    report.set_defaults(handler=report_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as err:
        print(f"golive: {err}", file=sys.stderr)
        return 2
    except StoreUnavailableError as err:
        print(f"golive: {err}", file=sys.stderr)
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
