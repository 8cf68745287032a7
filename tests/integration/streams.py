"""Deterministic streams of realistic events, as Kafka records (key, value, headers)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.cloudevents import structured
from tests.integration.kafka import Record

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def cdevent(
    type_: str,
    subject_id: str,
    content: dict[str, Any],
    *,
    id: str,
    time: datetime,
    source: str = "/ci",
) -> dict[str, Any]:
    golive = type_.startswith("golive-")
    return {
        "context": {
            "specversion": "0.5.1",
            "id": id,
            "source": source,
            "type": f"{'dev.cdeventsx.' if golive else 'dev.cdevents.'}{type_}.{'0.1.0' if golive else '0.3.0'}",
            "timestamp": time.isoformat(),
        },
        "subject": {"id": subject_id, "content": content},
    }


def record(doc: dict[str, Any], key: str, mode: str = "plain", team: str | None = None) -> Record:
    """Encode a CDEvent as a record in the given mode (plain, structured or binary)."""
    ctx = doc["context"]
    if mode == "structured":
        envelope = structured(doc, **({"team": team} if team else {}))
        return (key.encode(), json.dumps(envelope).encode(), [])
    if mode == "binary":
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", ctx["id"].encode()),
            ("ce_source", ctx["source"].encode()),
            ("ce_type", ctx["type"].encode()),
            ("content-type", b"application/json"),
        ]
        if team:
            headers.append(("ce_team", team.encode()))
        return (key.encode(), json.dumps(doc).encode(), headers)
    return (key.encode(), json.dumps(doc).encode(), [])


def deployment_value() -> bytes:
    """One valid structured CloudEvent (a deployment five minutes ago), as a request body
    or record value."""
    doc = cdevent(
        "service.deployed",
        "checkout",
        {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.0.0"},
        id="deploy-checkout-1",
        time=datetime.now(UTC) - timedelta(minutes=5),
    )
    return record(doc, "checkout", mode="structured")[1]


def synthetic_stream(count: int, seed: int = 7) -> list[Record]:
    """`count` records: deployments, incidents, rollouts with progress, tasks, pipeline runs
    across 12 services and 5 teams, in all three modes, about 300 bytes each."""
    rng = random.Random(seed)
    services = [f"svc-{i}" for i in range(12)]
    teams = ["payments", "storefront", "platform", "data", "search"]
    records: list[Record] = []
    versions = dict.fromkeys(services, 0)
    for n in range(count):
        time = T0 + timedelta(seconds=30 * n)
        kind = rng.random()
        service = rng.choice(services)
        team = rng.choice(teams)
        mode = rng.choice(["plain", "plain", "structured", "binary"])
        eid = f"ev-{seed}-{n}"
        if kind < 0.2:
            versions[service] += 1
            doc = cdevent(
                "service.deployed",
                service,
                {
                    "environment": {"id": "prod"},
                    "artifactId": f"pkg:oci/{service}@1.{versions[service]}",
                },
                id=eid,
                time=time,
            )
        elif kind < 0.25:
            incident = f"inc-{service}-{versions[service]}"
            predicate = rng.choice(["detected", "resolved"])
            doc = cdevent(
                f"incident.{predicate}",
                incident,
                {"environment": {"id": "prod"}, "service": {"id": service}},
                id=eid,
                time=time,
                source="/monitoring",
            )
        elif kind < 0.45:
            rollout = f"ro-{service}-{versions[service]}"
            step = rng.random()
            if step < 0.2:
                content: dict[str, Any] = {
                    "service": service,
                    "environment": "prod",
                    "fromVersion": f"1.{versions[service]}",
                    "toVersion": f"1.{versions[service] + 1}",
                    "desiredInstances": 4,
                    "minHealthyPercent": 50,
                }
                doc = cdevent(
                    "golive-rollout.started", rollout, content, id=eid, time=time, source="/ecs"
                )
            elif step < 0.85:
                doc = cdevent(
                    "golive-rollout.progressed",
                    rollout,
                    {"readyOld": rng.randint(0, 4), "readyNew": rng.randint(0, 4)},
                    id=eid,
                    time=time,
                    source="/ecs",
                )
            else:
                doc = cdevent(
                    "golive-rollout.finished",
                    rollout,
                    {"outcome": rng.choice(["succeeded", "succeeded", "failed"])},
                    id=eid,
                    time=time,
                    source="/ecs",
                )
        elif kind < 0.7:
            task = f"T-{rng.randint(0, 199)}"
            if rng.random() < 0.3:
                doc = cdevent(
                    "golive-task.scheduled",
                    task,
                    {
                        "release": f"R{rng.randint(1, 3)}",
                        "team": team,
                        "title": f"task {task}",
                        "dueDate": (time + timedelta(days=rng.randint(1, 20))).isoformat(),
                    },
                    id=eid,
                    time=time,
                    source="/jira",
                )
            else:
                doc = cdevent(
                    "golive-task.updated",
                    task,
                    {"status": rng.choice(["in_progress", "blocked", "done", "done"])},
                    id=eid,
                    time=time,
                    source="/jira",
                )
        elif kind < 0.75:
            release = f"R{rng.randint(1, 3)}"
            doc = cdevent(
                "golive-release.planned",
                release,
                {
                    "targetDate": (T0 + timedelta(days=rng.randint(10, 30))).isoformat(),
                    "environment": "prod",
                    "services": services[:4],
                    "teams": teams,
                },
                id=eid,
                time=time,
                source="/jira",
            )
        else:
            doc = cdevent(
                "pipelinerun.finished",
                f"run-{n}",
                {
                    "pipelineName": f"{service}-ci",
                    "outcome": "success",
                    "uri": "https://ci.example/run",
                },
                id=eid,
                time=time,
            )
        key = doc["subject"]["id"]
        records.append(record(doc, key, mode, team))
    return records
