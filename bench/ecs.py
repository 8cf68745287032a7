"""What an Amazon ECS event costs the reducer, against a native rollout event, in one run.

The same rollouts twice: back-to-back rolling updates of one service, each task replaced
one at a time, reported (1) as ECS's EventBridge events (`domain.ecs` re-derives the
fleet's rollouts on each) and (2) as native `golive-rollout.*` events. Both are decoded
first; only `apply_all` is timed, interleaved, median of `--repeat` runs.

    .venv/bin/python -m bench.ecs [--tasks 50] [--deployments 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from golive.contract import Event, decode_record
from golive.domain.state import apply_all
from golive.emit.events import cloudevent, rfc3339

ARN = "arn:aws:ecs:eu-west-1:123456789012"
CLUSTER = f"{ARN}:cluster/prod"
SERVICE = f"{ARN}:service/prod/checkout"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _envelope(n: int, detail_type: str, at: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"ecs-{n}",
        "detail-type": detail_type,
        "source": "aws.ecs",
        "time": rfc3339(at),
        "resources": [SERVICE],
        "detail": detail,
    }


def ecs_records(tasks: int, deployments: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []

    def deployment(d: int, name: str, at: datetime) -> None:
        detail = {"eventName": name, "deploymentId": f"ecs-svc/{d}", "updatedAt": rfc3339(at)}
        records.append(_envelope(len(records), "ECS Deployment State Change", at, detail))

    def task(d: int, i: int, at: datetime, last: str, desired: str, health: str) -> None:
        detail = {
            "clusterArn": CLUSTER,
            "taskArn": f"{ARN}:task/prod/d{d}t{i}",
            "taskDefinitionArn": f"{ARN}:task-definition/checkout:{d}",
            "group": "service:checkout",
            "startedBy": f"ecs-svc/{d}",
            "lastStatus": last,
            "desiredStatus": desired,
            "healthStatus": health,
            "startedAt": rfc3339(at),
            "updatedAt": rfc3339(at),
        }
        records.append(_envelope(len(records), "ECS Task State Change", at, detail))

    for d in range(1, deployments + 1):
        start = T0 + timedelta(hours=d)
        deployment(d, "SERVICE_DEPLOYMENT_IN_PROGRESS", start)
        for i in range(tasks):
            at = start + timedelta(seconds=60 * i)
            if d > 1:  # the previous deployment's task i leaves
                task(d - 1, i, at, "RUNNING", "STOPPED", "HEALTHY")
                task(d - 1, i, at + timedelta(seconds=20), "STOPPED", "STOPPED", "HEALTHY")
            task(d, i, at + timedelta(seconds=21), "PENDING", "RUNNING", "UNKNOWN")
            task(d, i, at + timedelta(seconds=35), "RUNNING", "RUNNING", "UNKNOWN")
            task(d, i, at + timedelta(seconds=59), "RUNNING", "RUNNING", "HEALTHY")
        deployment(d, "SERVICE_DEPLOYMENT_COMPLETED", start + timedelta(seconds=60 * tasks))
    return records


def native_records(tasks: int, deployments: int, per_rollout: int) -> list[dict[str, Any]]:
    """The same rollouts as native events, as many per rollout as ECS sends."""
    records: list[dict[str, Any]] = []

    def emit(name: str, rollout: str, at: datetime, content: dict[str, Any]) -> None:
        records.append(
            cloudevent(name, rollout, content, id=f"n-{len(records)}", source="bench", time=at)
        )

    for d in range(1, deployments + 1):
        start, rollout = T0 + timedelta(hours=d), f"r{d}"
        emit(
            "golive-rollout.started",
            rollout,
            start,
            {
                "service": "checkout",
                "environment": "prod",
                "toVersion": f"checkout:{d}",
                "desiredInstances": tasks,
            },
        )
        samples = per_rollout - 2
        for s in range(samples):
            new = min(tasks, s * tasks // samples)
            emit(
                "golive-rollout.progressed",
                rollout,
                start + timedelta(seconds=60 * tasks * s / samples),
                {"readyOld": tasks - new, "readyNew": new},
            )
        emit(
            "golive-rollout.finished",
            rollout,
            start + timedelta(seconds=60 * tasks),
            {"outcome": "succeeded"},
        )
    return records


def _decoded(records: list[dict[str, Any]]) -> list[Event]:
    events = [decode_record(json.dumps(r).encode()) for r in records]
    assert all(isinstance(e, Event) for e in events), "a benchmark record was rejected"
    return events  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--deployments", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    ecs = _decoded(ecs_records(args.tasks, args.deployments))
    native = _decoded(native_records(args.tasks, args.deployments, len(ecs) // args.deployments))
    timings: dict[str, list[float]] = {"ecs": [], "native": []}
    for _ in range(args.repeat):
        for name, events in (("ecs", ecs), ("native", native)):
            began = time.perf_counter()
            state = apply_all(events)
            timings[name].append((time.perf_counter() - began) / len(events))
            assert len(state.rollouts) == args.deployments
    ecs_us = statistics.median(timings["ecs"]) * 1e6
    native_us = statistics.median(timings["native"]) * 1e6
    print(f"{args.deployments} rolling updates of {args.tasks} tasks, median of {args.repeat}")
    print(f"  ECS events     {len(ecs):>6}  {ecs_us:8.1f} us/event")
    print(f"  native events  {len(native):>6}  {native_us:8.1f} us/event")
    print(f"  ECS / native   {ecs_us / native_us:.1f}x")


if __name__ == "__main__":
    main()
