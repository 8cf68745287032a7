"""The `golive` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
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


def ci_source(env: Mapping[str, str]) -> str:
    """The event source a CI job is: its project's URL where the CI system tells it."""
    if env.get("GITHUB_REPOSITORY"):
        return f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}"
    for name in ("CI_PROJECT_URL", "JOB_URL"):  # GitLab CI, Jenkins
        if env.get(name):
            return env[name]
    return "golive-emit"


def _events_of_file(name: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        document = json.loads(text)
    except OSError as err:
        raise ConfigError(f"--file {name}: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"--file {name}: not JSON: {err}") from None
    except (RecursionError, ValueError) as err:  # nested too deeply, a 5,000-digit number
        raise ConfigError(f"--file {name}: not JSON golive reads: {err}") from None
    events = document if isinstance(document, list) else [document]
    if not all(isinstance(e, dict) for e in events):
        raise ConfigError(f"--file {name}: expected a JSON object or an array of objects")
    return events


def emit_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flag values `golive.emit.flags.event_parts` places in the event."""
    fields = {name: getattr(args, name) for name in EMIT_FIELD_FLAGS}
    return fields | {"team": args.team, "set": dict(args.set or [])}


def event_of_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The CloudEvent `golive emit` sends for these flags."""
    from golive.emit.events import UnknownEventType, cloudevent
    from golive.emit.flags import FlagError, event_parts

    if args.type is None:
        raise ConfigError("give --type (with the event's flags) or --file")
    try:
        parts = event_parts(args.type, emit_flags(args))
        return cloudevent(
            args.type,
            parts.subject_id,
            parts.content,
            id=args.id or str(uuid.uuid4()),
            source=args.source or os.environ.get("GOLIVE_EMIT_SOURCE") or ci_source(os.environ),
            time=args.time or datetime.now(UTC),
            team=args.team,
            custom_data=parts.custom_data,
        )
    except (FlagError, UnknownEventType) as err:
        raise ConfigError(str(err)) from None


def _print_hints(reason: str, *, from_flags: bool) -> None:
    from golive.emit.flags import flag_hints

    if from_flags:
        for hint in flag_hints(reason):
            print(f"  (set {hint})", file=sys.stderr)


def emit_command(args: argparse.Namespace) -> int:
    from golive.emit import EmitError, HttpEmitter, KafkaEmitter
    from golive.emit.senders import check_events

    events = _events_of_file(args.file) if args.file else [event_of_flags(args)]
    if args.dry_run:
        for event in events:
            print(json.dumps(event, indent=2, ensure_ascii=False))
        rejected = check_events(events)
        for problem in rejected:
            print(f"golive emit: rejected: {problem}", file=sys.stderr)
            _print_hints(problem.reason, from_flags=not args.file)
        return 1 if rejected else 0
    url = args.url or os.environ.get("GOLIVE_URL")

    async def go() -> int:
        emitter: HttpEmitter | KafkaEmitter
        if url:
            token = os.environ.get("GOLIVE_API_TOKEN")
            emitter = HttpEmitter(url, token, timeout=args.timeout)
        else:
            settings = _settings()
            if not settings.kafka_bootstrap_servers:
                raise ConfigError(
                    "nowhere to send: give --url (or GOLIVE_URL) for golive's HTTP endpoint, "
                    "or GOLIVE_KAFKA_BOOTSTRAP_SERVERS for its Kafka topic"
                )
            emitter = KafkaEmitter(settings, timeout=args.timeout)
        try:
            async with emitter:
                sent = await emitter.send(events)
        except EmitError as err:
            print(f"golive emit: {err}", file=sys.stderr)
            for rejected in err.rejected:
                print(f"  {rejected}", file=sys.stderr)
                _print_hints(rejected.reason, from_flags=not args.file)
            return 1 if err.rejected else 3
        for event, where in zip(events, sent, strict=True):
            print(
                f"sent {event.get('type', '?')} {where.get('id')} to {where['topic']} "
                f"partition {where['partition']} offset {where['offset']}"
            )
        return 0

    return asyncio.run(go())


def _settings() -> Settings:
    return load_settings()


def run_command(_args: argparse.Namespace) -> int:
    from golive import app, logs, runtime

    settings = _settings()
    logs.configure(settings.log_level, settings.secret_values())
    runtime.tune_process()
    return asyncio.run(app.run(settings))


def demo_command(args: argparse.Namespace) -> int:
    from golive import app, logs

    settings = load_settings()
    logs.configure("WARNING", settings.secret_values())
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


def watch_kubernetes_command(args: argparse.Namespace) -> int:
    from golive import logs
    from golive.kubernetes import watcher

    overrides: dict[str, Any] = {}
    if args.namespace:
        overrides["kubernetes_namespaces"] = args.namespace
    if args.namespace_environment:
        overrides["kubernetes_namespace_environments"] = dict(args.namespace_environment)
    for flag in ("environment", "kubeconfig", "context", "cluster"):
        if getattr(args, flag) is not None:
            overrides[f"kubernetes_{flag}"] = getattr(args, flag)
    if args.no_pods:
        overrides["kubernetes_watch_pods"] = False
    settings = load_settings(**overrides)
    logs.configure(settings.log_level, settings.secret_values())
    return asyncio.run(watcher.run(settings))


def _namespace_environment(text: str) -> tuple[str, str]:
    namespace, sep, environment = text.partition("=")
    if not sep or not namespace or not environment:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAMESPACE=ENVIRONMENT, e.g. shop=prod"
        )
    return namespace, environment


def _timestamp(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an RFC 3339 time with a zone, e.g. 2026-11-24T09:30:00Z"
        )
    return parsed


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'{text!r}: expected KEY=VALUE, e.g. notes="hotfix"')
    try:
        value: Any = json.loads(raw)  # numbers, booleans, lists and objects as JSON
    except json.JSONDecodeError:
        value = raw  # anything else is a string
    return key, value


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# The content flags of `golive emit` (golive.emit.flags places each one per type).
EMIT_FIELD_FLAGS: dict[str, tuple[str, Any]] = {
    "subject": ("the subject's id, for any type", str),
    "service": ("service id (subject of service.*; field of rollouts, incidents)", str),
    "environment": ("environment id, e.g. prod", str),
    "version": ("version deployed (service artifactId, rollout toVersion)", str),
    "artifact": ("artifact id, a package URL (default pkg:generic/SERVICE@VERSION)", str),
    "rollout": ("rollout id (default: $GOLIVE_ROLLOUT_ID)", str),
    "from_version": ("rollout: version replaced", str),
    "to_version": ("rollout: new version", str),
    "desired": ("rollout: desired instances", int),
    "min_healthy_percent": ("rollout: minimum healthy percent (default 100)", float),
    "ready_old": ("rollout progress: instances of the old version ready", int),
    "ready_new": ("rollout progress: instances of the new version ready", int),
    "outcome": ("succeeded|failed|rolledback (rollout), completed|cancelled (release)", str),
    "task": ("task or ticket id", str),
    "release": ("release id (subject of golive-release.*; a task's release)", str),
    "title": ("task title / ticket summary", str),
    "due": ("task due date, RFC 3339", str),
    "kind": ("task kind: plan or corrective", str),
    "owner": ("task owner", str),
    "status": ("task status: todo, in_progress, blocked, done", str),
    "name": ("release name", str),
    "target_date": ("release go-live date, RFC 3339", str),
    "services": ("release services, comma-separated", _names),
    "teams": ("release teams, comma-separated", _names),
    "incident": ("incident id", str),
    "change": ("change id", str),
    "pipeline_run": ("pipeline run id", str),
    "description": ("incident or change description", str),
}


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
    try:
        period = report_period(args.period, args.at, now, zone)
    except ValueError as err:
        raise ConfigError(f"--at: {err}") from None

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
            "Decode each file as golive decodes a Kafka record value (structured CloudEvent, "
            "plain CDEvent or EventBridge event; add --header ce_...=... for binary mode). "
            "Prints the normalised event or the reason it is rejected; exits 1 if any is "
            "rejected."
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

    emit = commands.add_parser(
        "emit",
        help="send one event to golive (HTTP or Kafka), e.g. from a CI job or deploy script",
        description=(
            "Build an event from flags (or take it from --file) and send it to golive: to "
            "--url (or GOLIVE_URL) over HTTP with the token in GOLIVE_API_TOKEN, else to the "
            "Kafka topic of GOLIVE_KAFKA_BOOTSTRAP_SERVERS / GOLIVE_KAFKA_TOPICS. The event is "
            "checked as golive will check it. Exit codes: 0 sent, 1 rejected (reasons on "
            "stderr), 2 bad flags or settings, 3 not delivered (golive, broker or token)."
        ),
        epilog=(
            "examples:\n"
            "  golive emit --type service.deployed --service checkout --environment prod "
            "--version 1.4.2\n"
            "  golive emit --type golive-rollout.progressed --rollout r-42 --ready-old 2 "
            "--ready-new 1\n"
            "  golive emit --file event.json --url https://golive.example.com"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emit.add_argument("--type", help="service.deployed, golive-rollout.started, ... or a full type")
    emit.add_argument("--file", metavar="FILE", help="JSON event(s) to send instead (- for stdin)")
    fields = emit.add_argument_group("event fields (each type takes the ones it carries)")
    for name, (text, convert) in EMIT_FIELD_FLAGS.items():
        fields.add_argument(f"--{name.replace('_', '-')}", dest=name, type=convert, help=text)
    fields.add_argument(
        "--set",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="any other content field (repeatable; VALUE parsed as JSON when it is JSON)",
    )
    envelope = emit.add_argument_group("event envelope")
    envelope.add_argument("--team", help="team credited (CloudEvents extension; task team)")
    envelope.add_argument(
        "--source", help="event source (default: $GOLIVE_EMIT_SOURCE, else the CI project URL)"
    )
    envelope.add_argument("--id", help="event id (default: a random UUID)")
    envelope.add_argument("--time", type=_timestamp, help="event time (default: now)")
    sending = emit.add_argument_group("sending")
    sending.add_argument("--url", help="golive's base URL (default: $GOLIVE_URL; else Kafka)")
    sending.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to keep retrying (default 60)"
    )
    sending.add_argument("--dry-run", action="store_true", help="print the event, send nothing")
    emit.set_defaults(handler=emit_command, rollout=os.environ.get("GOLIVE_ROLLOUT_ID"))

    kube = commands.add_parser(
        "watch-kubernetes",
        help="follow Deployments in Kubernetes namespaces and emit their rollouts to golive",
        description=(
            "Watch Deployments, their ReplicaSets and Pods through the Kubernetes API and "
            "produce golive-rollout started/progressed/finished events to the Kafka topic "
            "(GOLIVE_KAFKA_BOOTSTRAP_SERVERS, first of GOLIVE_KAFKA_TOPICS). Flags override "
            "the GOLIVE_KUBERNETES_* settings. Runs until SIGTERM/SIGINT. Exit codes: 0 "
            "stopped, 2 bad settings, no Kubernetes configuration or a missing permission."
        ),
        epilog=(
            "example:\n"
            "  golive watch-kubernetes --namespace shop --namespace payments \\\n"
            "      --namespace-environment shop=prod --environment staging\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kube.add_argument(
        "--namespace",
        action="append",
        metavar="NS",
        help="namespace to watch (repeatable; default: $GOLIVE_KUBERNETES_NAMESPACES)",
    )
    kube.add_argument(
        "--environment",
        help="golive environment of the rollouts (default: the namespace's name)",
    )
    kube.add_argument(
        "--namespace-environment",
        action="append",
        type=_namespace_environment,
        metavar="NS=ENV",
        help="environment of one namespace's rollouts (repeatable)",
    )
    kube.add_argument(
        "--kubeconfig",
        type=Path,
        help="kubeconfig file (default: in-cluster service account, else $KUBECONFIG "
        "or ~/.kube/config)",
    )
    kube.add_argument("--context", help="kubeconfig context (default: its current context)")
    kube.add_argument(
        "--cluster",
        help="cluster name in the events' source (default: kubernetes); one per cluster",
    )
    kube.add_argument(
        "--no-pods",
        action="store_true",
        help="do not watch pods: count ready instances from ReplicaSets' status",
    )
    kube.set_defaults(handler=watch_kubernetes_command)
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
