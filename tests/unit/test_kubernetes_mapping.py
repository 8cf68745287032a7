"""Kubernetes watch streams to golive rollout events (golive.kubernetes.mapping), measured
by golive's own decoder, reducer and availability: the recorded streams are in
tests/fixtures/kubernetes/ (written by its record.py from the API reference)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from golive.contract import Event, Rejection, decode_record
from golive.domain.rollouts import Availability, availability
from golive.domain.state import apply_all
from golive.kubernetes import objects
from golive.kubernetes.mapping import KINDS, Kind, MappingConfig, RolloutMapping

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes"
SOURCE = "/golive/watch-kubernetes/test-cluster"
ROLLOUT = "k8s/shop/checkout/{}-9f8c2d4e"
LATER = datetime(2026, 11, 25, tzinfo=UTC)


def stream(name: str) -> list[dict[str, Any]]:
    lines = (STREAMS / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def mapping(count_pods: bool = True) -> RolloutMapping:
    return RolloutMapping(
        MappingConfig(SOURCE, namespace_environments={"shop": "prod"}, count_pods=count_pods)
    )


def replay(name: str, count_pods: bool = True) -> list[dict[str, Any]]:
    """Feed a recorded stream; without pods, as a watcher that does not watch them."""
    rollouts = mapping(count_pods)
    emitted: list[dict[str, Any]] = []
    for line in stream(name):
        kind: Kind = line["object"]["kind"]
        if kind == "Pod" and not count_pods:
            continue
        at = datetime.fromisoformat(line["at"])
        emitted += rollouts.observe(kind, line["type"], line["object"], at)
    return emitted


def decoded(events: list[dict[str, Any]]) -> list[Event]:
    result = []
    for event in events:
        got = decode_record(json.dumps(event).encode())
        assert not isinstance(got, Rejection), got
        result.append(got)
    return result


def measured(events: list[dict[str, Any]]) -> dict[str, Availability]:
    state = apply_all(decoded(events))
    found = {rid: availability(r, LATER) for rid, r in state.rollouts.items()}
    return {rid: a for rid, a in found.items() if a is not None}


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, subject, content) of each event, at a glance."""
    return [
        (".".join(e["type"].split(".")[2:4]), e["subject"], e["data"]["subject"]["content"])
        for e in events
    ]


def samples(events: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [
        (
            e["time"][14:23],
            e["data"]["subject"]["content"]["readyOld"],
            e["data"]["subject"]["content"]["readyNew"],
        )
        for e in events
        if e["type"].endswith(".progressed.0.1.0")
    ]


@pytest.mark.parametrize("count_pods", [True, False], ids=["pods", "replicasets"])
def test_clean_rolling_update_starts_progresses_and_succeeds_without_downtime(
    count_pods: bool,
) -> None:
    events = replay("clean-rolling-update", count_pods)

    rollout = ROLLOUT.format(2)
    assert summary(events)[0] == (
        "golive-rollout.started",
        rollout,
        {
            "service": "checkout",
            "environment": "prod",
            "fromVersion": "1.4.1",
            "toVersion": "1.4.2",
            "desiredInstances": 3,
            "minHealthyPercent": 100.0,  # 25% of 3 rounds down to 0 unavailable
            "namespace": "shop",
            "deployment": "checkout",
            "revision": 2,
        },
    )
    assert summary(events)[-1] == (
        "golive-rollout.finished",
        rollout,
        {"outcome": "succeeded", "reason": "NewReplicaSetAvailable"},
    )
    assert events[-1]["time"] == "2026-11-24T09:00:35.000Z"
    # One new pod ready, then one old pod leaves, three times.
    assert [(old, new) for _t, old, new in samples(events)] == [
        (3, 0),
        (3, 1),
        (2, 1),
        (2, 2),
        (1, 2),
        (1, 3),
        (0, 3),
    ]
    assert all(e.get("team") == "payments" for e in events)
    assert measured(events)[rollout] == Availability(rollout, 25.0, 0.0, 0.0, finished=True)


@pytest.mark.parametrize("count_pods", [True, False], ids=["pods", "replicasets"])
def test_rollout_past_its_progress_deadline_fails_and_counts_degraded_time(
    count_pods: bool,
) -> None:
    events = replay("progress-deadline-exceeded", count_pods)

    rollout = ROLLOUT.format(2)
    started = summary(events)[0][2]
    assert (started["toVersion"], started["minHealthyPercent"]) == ("2.0.0", 75.0)
    assert summary(events)[-1] == (
        "golive-rollout.finished",
        rollout,
        {"outcome": "failed", "reason": "ProgressDeadlineExceeded"},
    )
    assert [(old, new) for _t, old, new in samples(events)] == [(4, 0), (3, 0), (2, 0), (3, 0)]
    # 3 ready is the minimum (4 - maxUnavailable 1); the old pod unready from 30 s to 35 s.
    assert measured(events)[rollout] == Availability(rollout, 60.0, 0.0, 5.0, finished=True)


def test_rollback_finishes_the_rollout_rolledback_and_measures_the_restoring_rollout() -> None:
    events = replay("rollback")

    forward, restoring = ROLLOUT.format(2), ROLLOUT.format(3)
    assert [(kind, subject) for kind, subject, _ in summary(events)] == [
        ("golive-rollout.started", forward),
        ("golive-rollout.progressed", forward),
        ("golive-rollout.finished", forward),
        ("golive-rollout.started", restoring),
        ("golive-rollout.progressed", restoring),
        ("golive-rollout.finished", restoring),
    ]
    assert summary(events)[2][2] == {"outcome": "rolledback", "reason": "Rollback"}
    back = summary(events)[3][2]
    assert (back["fromVersion"], back["toVersion"], back["revision"]) == ("1.4.2", "1.4.1", 3)
    # The reused ReplicaSet counts as new at once: it runs the restored template.
    assert summary(events)[4][2] == {"readyOld": 0, "readyNew": 3}
    assert summary(events)[5][2]["outcome"] == "succeeded"
    availabilities = measured(events)
    assert availabilities[forward] == Availability(forward, 30.0, 0.0, 0.0, finished=True)
    assert availabilities[restoring].duration == pytest.approx(1.0, abs=0.01)
    assert availabilities[restoring].downtime == 0.0


@pytest.mark.parametrize("count_pods", [True, False], ids=["pods", "replicasets"])
def test_recreate_rollout_starts_on_the_template_change_and_counts_its_downtime(
    count_pods: bool,
) -> None:
    events = replay("recreate-with-downtime", count_pods)

    rollout = ROLLOUT.format(2)
    started = summary(events)[0]
    # Started at the template change, before the controller numbers revision 2 (it does
    # only once the old pods are gone), under the revision it then gets.
    assert started[1] == rollout
    assert events[0]["time"] == "2026-11-24T09:00:10.000Z"
    assert (started[2]["toVersion"], started[2]["minHealthyPercent"]) == ("1.4.2", 0.0)
    assert summary(events)[-1][2]["outcome"] == "succeeded"
    got = measured(events)[rollout]
    # Nothing ready from the old pods' termination (10.05 s) to the first new pod (21 s).
    assert got.downtime == pytest.approx(10.95, abs=0.01)
    assert got.degraded == 0.0  # Recreate's minimum is 0 pods: below it is impossible
    assert got.duration == pytest.approx(13.1, abs=0.01)


def test_event_ids_are_deterministic_so_a_replay_gives_duplicates() -> None:
    first = replay("clean-rolling-update")
    again = replay("clean-rolling-update")

    assert [e["id"] for e in first] == [e["id"] for e in again]
    assert len({e["id"] for e in first}) == len(first)
    assert {e["source"] for e in first} == {SOURCE}


def test_a_restarted_watcher_resyncing_mid_rollout_repeats_the_same_start() -> None:
    lines = stream("clean-rolling-update")
    cut = next(i for i, line in enumerate(lines) if line["at"] >= "2026-11-24T09:00:20")
    before = mapping()
    emitted: list[dict[str, Any]] = []
    for line in lines[:cut]:
        emitted += before.observe(
            line["object"]["kind"], line["type"], line["object"], datetime.fromisoformat(line["at"])
        )
    # A new watcher lists what exists at that point.
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines[:cut]:
        key = (line["object"]["kind"], line["object"]["metadata"]["name"])
        if line["type"] == "DELETED":
            current.pop(key, None)
        else:
            current[key] = line["object"]
    lists = {kind: [o for (k, _), o in current.items() if k == kind] for kind in KINDS}
    restarted = mapping().resync("shop", lists, datetime.fromisoformat(lines[cut]["at"]))

    assert restarted[0]["id"] == emitted[0]["id"]  # golive drops it as a duplicate
    assert restarted[1]["id"] == emitted[-1]["id"]  # nothing changed since: same sample


def test_a_complete_deployment_seen_first_is_no_rollout_and_a_new_one_replaces_nothing() -> None:
    lines = stream("clean-rolling-update")
    initial = [line for line in lines if line["at"] == "2026-11-24T09:00:00Z"]
    rollouts = mapping()
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)

    lists = {k: [line["object"] for line in initial if line["object"]["kind"] == k] for k in KINDS}

    assert rollouts.resync("shop", lists, at) == []


def test_deleting_a_deployment_mid_rollout_fails_its_rollout() -> None:
    lines = stream("rollback")
    rollouts = mapping()
    for line in lines[:8]:
        rollouts.observe(
            line["object"]["kind"], line["type"], line["object"], datetime.fromisoformat(line["at"])
        )
    deployment = next(
        line["object"] for line in reversed(lines[:8]) if line["object"]["kind"] == "Deployment"
    )

    [finished] = rollouts.observe("Deployment", "DELETED", deployment, LATER)

    assert finished["data"]["subject"]["content"] == {
        "outcome": "failed",
        "reason": "DeploymentDeleted",
    }


@pytest.mark.parametrize(
    ("strategy", "replicas", "expected"),
    [
        (
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            3,
            100.0,
        ),
        (
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            4,
            75.0,
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%", "maxSurge": 0}},
            3,
            66.6666,
        ),
        ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}, 4, 75.0),
        ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 5, "maxSurge": 1}}, 3, 0.0),
        ({"type": "RollingUpdate"}, 10, 80.0),  # defaults: 25% -> 2 of 10
        ({"type": "Recreate"}, 3, 0.0),
    ],
)
def test_min_healthy_percent_follows_the_controllers_rounding(
    strategy: dict[str, Any], replicas: int, expected: float
) -> None:
    deployment = {"spec": {"replicas": replicas, "strategy": strategy}}

    percent = objects.min_healthy_percent(deployment)

    assert percent == pytest.approx(expected, abs=1e-4)
    healthy = replicas - objects.max_unavailable(deployment)
    assert -(-replicas * percent // 100) == healthy  # golive's ceil gives the exact count


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("registry.example.com:5000/shop/checkout:1.4.2", "1.4.2"),
        ("checkout", None),
        ("checkout:latest", None),
        ("ghcr.io/shop/checkout@sha256:0123456789abcdef0123", "sha256:0123456789ab"),
        ("ghcr.io/shop/checkout:1.5@sha256:0123456789abcdef", "1.5"),
    ],
)
def test_image_versions(image: str, version: str | None) -> None:
    assert objects.image_version(image) == version


def test_a_complete_deployment_whose_replica_set_template_reads_differently_is_no_rollout() -> None:
    lines = stream("clean-rolling-update")
    final: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        key = (line["object"]["kind"], line["object"]["metadata"]["name"])
        if line["type"] == "DELETED":
            final.pop(key, None)
        else:
            final[key] = line["object"]
    for (kind, _), obj in final.items():
        if kind == "ReplicaSet":  # e.g. a default a newer API server adds
            obj["spec"]["template"]["spec"]["enableServiceLinks"] = True
    lists = {kind: [o for (k, _), o in final.items() if k == kind] for kind in KINDS}

    assert mapping().resync("shop", lists, LATER) == []
