"""A hand-computed scenario: the KPI values each test expects are derived in comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from golive.contract import Event, decode_record
from golive.domain.catalog import parse_catalog
from golive.store.batches import IncomingEvent, write_batch
from golive.store.db import _init
from golive.store.derived import derive_pending
from golive.store.migrations import migrate
from tests.fixtures.cloudevents import structured
from tests.integration.streams import cdevent

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
CATALOG_TOML = '[services.checkout]\nteam = "payments"\n'
CATALOG = parse_catalog({"services": {"checkout": {"team": "payments"}}})


# The record value each scenario event was decoded from, by event key.
RECORDS: dict[tuple[str, str], bytes] = {}


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def ev(
    type_: str, subject: str, content: dict[str, Any], time: datetime, team: str | None = None
) -> Event:
    doc = cdevent(type_, subject, content, id=f"{type_}-{subject}-{time.isoformat()}", time=time)
    if team:
        doc = structured(doc, team=team)
    value = json.dumps(doc).encode()
    event = decode_record(value)
    assert isinstance(event, Event), event
    RECORDS[event.key] = value
    return event


def _deployed(version: str, time: datetime, artifact: str | None = None) -> Event:
    return ev(
        "service.deployed",
        "checkout",
        {"environment": {"id": "prod"}, "artifactId": artifact or f"pkg:oci/checkout@{version}"},
        time,
    )


def build(now: datetime) -> list[Event]:
    """The scenario with every time relative to `now`."""

    def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return now - timedelta(days=days, hours=hours, minutes=minutes)

    def deployed(version: str, time: datetime, artifact: str | None = None) -> Event:
        return _deployed(version, time, artifact)

    return [
        ev(
            "golive-release.planned",
            "R1",
            {
                "targetDate": (now + timedelta(days=2)).isoformat(),
                "environment": "prod",
                "services": ["checkout"],
                "teams": ["payments", "storefront"],
                "objectives": [
                    {"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.3},
                    {"id": "downtime", "kpi": "rollout_downtime_max", "op": "<=", "target": 5},
                    {"id": "done", "kpi": "tasks_done_ratio", "op": ">=", "target": 1},
                ],
            },
            ago(days=14),
        ),
        deployed("1.0", ago(days=10)),
        ev("change.created", "c1", {}, ago(days=4)),
        ev(
            "artifact.packaged",
            "pkg:oci/checkout@1.1",
            {"change": {"id": "c1"}},
            ago(days=3, hours=1),
        ),
        deployed("1.1", ago(days=3)),
        ev(
            "incident.detected",
            "inc-1",
            {"environment": {"id": "prod"}, "service": {"id": "checkout"}},
            ago(days=3) + timedelta(hours=1),
        ),
        deployed("1.2", ago(days=3) + timedelta(hours=3)),
        ev(
            "incident.resolved",
            "inc-1",
            {"environment": {"id": "prod"}, "service": {"id": "checkout"}},
            ago(days=3) + timedelta(hours=4),
        ),
        ev("change.merged", "c2", {}, ago(days=3)),
        ev(
            "artifact.packaged",
            "pkg:oci/checkout@1.3",
            {"change": {"id": "c2"}},
            ago(days=1, hours=1),
        ),
        ev(
            "golive-rollout.started",
            "r1",
            {
                "service": "checkout",
                "environment": "prod",
                "fromVersion": "1.2",
                "toVersion": "1.3",
                "desiredInstances": 2,
                "minHealthyPercent": 50,
            },
            ago(days=1, minutes=10),
        ),
        ev(
            "golive-rollout.progressed",
            "r1",
            {"readyOld": 0, "readyNew": 0},
            ago(days=1, minutes=9),
        ),
        ev(
            "golive-rollout.progressed",
            "r1",
            {"readyOld": 0, "readyNew": 2},
            ago(days=1, minutes=9) + timedelta(seconds=30),
        ),
        ev("golive-rollout.finished", "r1", {"outcome": "succeeded"}, ago(days=1, minutes=5)),
        deployed("1.3", ago(days=1), "pkg:oci/checkout@1.3"),
        *[
            ev(
                "golive-task.scheduled",
                f"T{i}",
                {"release": "R1", "team": "payments", "dueDate": ago(days=1).isoformat()},
                ago(days=12),
            )
            for i in (1, 2, 3, 4)
        ],
        ev("golive-task.updated", "T1", {"status": "done"}, ago(days=2)),
        ev("golive-task.updated", "T2", {"status": "done"}, ago(days=1)),
        ev("golive-task.updated", "T3", {"status": "in_progress"}, ago(days=4)),
        ev(
            "golive-task.scheduled",
            "T5",
            {
                "release": "R1",
                "team": "storefront",
                "dueDate": (now + timedelta(days=1)).isoformat(),
            },
            ago(days=5),
        ),
        ev(
            "pipelinerun.finished",
            "run-9",
            {"pipelineName": "checkout-ci", "outcome": "success"},
            ago(hours=1),
            team="payments",
        ),
    ]


SCENARIO = build(NOW)


# --- alerting scenarios (Alertmanager tests and the Alertmanager-down fault run) ---


def real_now() -> datetime:
    """Alertmanager judges `endsAt` by the wall clock: these tests run near real time."""
    return datetime.now(UTC).replace(microsecond=0)


def _midweek_before(now: datetime) -> datetime:
    """Noon of the last Tuesday, Wednesday or Thursday at least two days before `now`: a
    business day before today in any time zone."""
    day = now - timedelta(days=2)
    while day.weekday() not in (1, 2, 3):
        day -= timedelta(days=1)
    return day.replace(hour=12, minute=0, second=0, microsecond=0)


def extra(now: datetime) -> list[Any]:
    """On top of the scenario: a late release, a rollout stuck with no instance ready for
    39 minutes, and a failed deployment of search (an open incident)."""

    def ago(**kw: float) -> datetime:
        return now - timedelta(**kw)

    return [
        ev(
            "golive-release.planned",
            "R2",
            {"targetDate": ago(days=1).isoformat(), "environment": "prod"},
            ago(days=20),
        ),
        ev("golive-task.scheduled", "T9", {"release": "R2", "team": "payments"}, ago(days=19)),
        # Throughput for R1's forecast whatever the weekday: on a Monday the scenario's
        # completions (one and two days ago) fall on the weekend, so they count toward
        # today, which the history leaves out: no history, and R1's risk unknown.
        ev("golive-task.scheduled", "T8", {"release": "R2", "team": "payments"}, ago(days=19)),
        ev("golive-task.updated", "T8", {"status": "done"}, _midweek_before(now)),
        ev(
            "golive-rollout.started",
            "r2",
            {
                "service": "checkout",
                "environment": "prod",
                "fromVersion": "1.3",
                "toVersion": "1.4",
                "desiredInstances": 2,
                "minHealthyPercent": 50,
            },
            ago(minutes=40),
        ),
        ev("golive-rollout.progressed", "r2", {"readyOld": 0, "readyNew": 0}, ago(minutes=39)),
        ev(
            "service.deployed",
            "search",
            {"environment": {"id": "prod"}, "artifactId": "pkg:oci/search@3.0"},
            ago(hours=2),
        ),
        ev(
            "incident.detected",
            "inc-2",
            {"environment": {"id": "prod"}, "service": {"id": "search"}},
            ago(minutes=30),
        ),
    ]


def clearing(now: datetime) -> list[Any]:
    """What clears each condition; the scenario's missed objectives and r2's downtime,
    which happened, stay."""

    def ago(**kw: float) -> datetime:
        return now - timedelta(**kw)

    return [
        ev("golive-task.updated", "T3", {"status": "done"}, ago(minutes=5)),
        ev("golive-task.updated", "T4", {"status": "done"}, ago(minutes=5)),
        ev(
            "pipelinerun.finished",
            "run-10",
            {"pipelineName": "storefront-ci", "outcome": "success"},
            ago(minutes=5),
            team="storefront",
        ),
        ev("golive-rollout.finished", "r2", {"outcome": "succeeded"}, ago(minutes=4)),
        ev(
            "incident.resolved",
            "inc-2",
            {"environment": {"id": "prod"}, "service": {"id": "search"}},
            ago(minutes=3),
        ),
        ev("golive-release.closed", "R2", {"outcome": "cancelled"}, ago(minutes=3)),
    ]


def records(events: list[Any]) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [(e.subject_id.encode(), RECORDS[e.key], []) for e in events]


async def ingest(database_url: str, events: list[Event]) -> asyncpg.Connection:
    """`events` stored in the database at `database_url` (migrated); an open connection."""
    conn = await asyncpg.connect(database_url)
    await _init(conn)
    await migrate(conn)
    incoming = [IncomingEvent(e, b"{}") for e in events]
    for start in range(0, len(incoming), 500):
        await write_batch(conn, incoming[start : start + 500], {}, group_id="g", catalog=CATALOG)
    while await derive_pending(conn):  # as the leader does
        pass
    return conn
