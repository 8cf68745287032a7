"""Amazon ECS: EventBridge events decoded, and rollouts derived from them (`domain.ecs`)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from golive.contract import Event, Rejection, decode_record
from golive.contract.ecs import (
    EcsDeploymentStateChange,
    EcsTaskStateChange,
    rollback_target,
    service_of_arn,
    task_definition_version,
)
from golive.contract.errors import RejectionKind
from golive.contract.event import Mode
from golive.contract.types import metric_type_label
from golive.domain import ecs
from golive.domain.catalog import CatalogError, parse_catalog
from golive.domain.model import Rollout
from golive.domain.rollouts import availability
from golive.domain.state import State, apply, apply_all, touches

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ecs"
GUIDE = sorted((FIXTURES / "guide").glob("*.json"))
CATALOG = parse_catalog({"ecs": {"clusters": {"prod-eu": "prod"}}})
ROLLING = "ecs-svc/7340011542209187002"
GOOD, BAD, BACK = "ecs-svc/5120987712340001", "ecs-svc/5120987712340002", "ecs-svc/5120987712340003"


def records(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


def decode(record: dict[str, Any]) -> Event:
    event = decode_record(json.dumps(record).encode())
    assert isinstance(event, Event), event
    return event


def events(name: str) -> list[Event]:
    return [decode(r) for r in records(name)]


def rollouts_of(evts: list[Event], catalog: Any = CATALOG) -> dict[str, Rollout]:
    return dict(apply_all(evts, catalog).rollouts)


def figures(rollout: Rollout) -> tuple[float, float, float]:
    assert rollout.finished_at is not None
    cost = availability(rollout, rollout.finished_at)
    assert cost is not None
    return cost.duration, cost.downtime, cost.degraded


# --- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GUIDE, ids=[p.stem for p in GUIDE])
def test_every_developer_guide_example_is_accepted(path: Path) -> None:
    event = decode(json.loads(path.read_text()))
    assert event.mode is Mode.EVENTBRIDGE
    assert event.source == "aws.ecs"
    assert metric_type_label(event.name) == event.name  # a known type, its own metric label
    # and it folds into a state without error
    assert event.key in apply(State(), event, CATALOG).seen


def test_deployment_event_names_its_service_and_takes_the_detail_time() -> None:
    event = decode(json.loads((GUIDE[0].parent / "deployment_failed.json").read_text()))
    assert isinstance(event.content, EcsDeploymentStateChange)
    assert event.name == "ecs-deployment.state-change"
    assert event.subject_id == "arn:aws:ecs:us-west-2:210987654321:service/default/servicetest"
    assert event.entity_keys()["service"] == "servicetest"
    assert event.time == datetime.fromisoformat("2020-05-23T11:11:11+00:00")  # updatedAt
    assert touches(event) == {"fleets": {event.subject_id}, "rollouts": {"ecs-svc/123"}}


def test_a_standalone_task_is_stored_but_belongs_to_no_service() -> None:
    event = decode(json.loads((FIXTURES / "guide" / "task_state_change.json").read_text()))
    assert isinstance(event.content, EcsTaskStateChange)
    assert event.content.service_name is None
    assert event.subject_id.endswith(":task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad")
    assert apply(State(), event).fleets == {}


def test_a_service_task_meets_its_deployments_on_the_long_service_arn() -> None:
    task = records("rolling_update.jsonl")[1]
    assert task["detail-type"] == "ECS Task State Change"
    event = decode(task)
    assert event.subject_id == "arn:aws:ecs:eu-west-1:123456789012:service/prod-eu/checkout"
    assert event.time == datetime.fromisoformat("2026-11-20T10:00:01+00:00")


@pytest.mark.parametrize(
    ("change", "kind", "words"),
    [
        (lambda r: r.pop("detail"), RejectionKind.UNKNOWN_FORMAT, "EventBridge"),
        (lambda r: r.update(time="yesterday"), RejectionKind.INVALID_CONTENT, "time"),
        (lambda r: r["detail"].pop("deploymentId"), RejectionKind.INVALID_CONTENT, "deploymentId"),
        (lambda r: r.update(resources=[]), RejectionKind.MISSING_ATTRIBUTE, "service ARN"),
        (lambda r: r.update(detail=[1]), RejectionKind.INVALID_CONTENT, "detail"),
        (lambda r: r.update(id=""), RejectionKind.INVALID_CONTENT, "id"),
    ],
)
def test_broken_ecs_events_are_rejected_with_a_reason(change: Any, kind: str, words: str) -> None:
    record = records("rolling_update.jsonl")[0]
    change(record)
    rejection = decode_record(json.dumps(record).encode())
    assert isinstance(rejection, Rejection)
    assert rejection.kind == kind
    assert words in rejection.reason


def test_other_eventbridge_sources_are_kept_as_activity() -> None:
    record = {
        "version": "0",
        "id": "e1",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "time": "2026-11-20T10:00:00Z",
        "resources": ["arn:aws:ec2:eu-west-1:123456789012:instance/i-1"],
        "detail": {"instance-id": "i-1", "state": "running"},
    }
    event = decode(record)
    assert event.name == "aws-ec2.ec2-instance-state-change-notification"
    assert metric_type_label(event.name) == "other"


def test_arn_helpers() -> None:
    old_form = service_of_arn(
        "arn:aws:ecs:eu-west-1:1:service/web", "arn:aws:ecs:eu-west-1:1:cluster/c"
    )
    assert old_form is not None
    assert old_form.arn == "arn:aws:ecs:eu-west-1:1:service/c/web"
    assert service_of_arn("arn:aws:ecs:eu-west-1:1:task/c/abc") is None
    assert task_definition_version("arn:aws:ecs:r:1:task-definition/checkout:42") == "checkout:42"
    reason = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1234."
    assert rollback_target(reason) == "ecs-svc/1234"
    assert rollback_target("ECS deployment ecs-svc/1 in progress.") is None


# --- a rolling update -------------------------------------------------------------------------


def test_rolling_update_one_task_at_a_time() -> None:
    rollouts = rollouts_of(events("rolling_update.jsonl"))
    assert list(rollouts) == [ROLLING]
    rollout = rollouts[ROLLING]
    assert (rollout.service, rollout.environment) == ("checkout", "prod")
    assert (rollout.from_version, rollout.to_version) == ("checkout:41", "checkout:42")
    assert (rollout.desired, rollout.outcome) == (3, "succeeded")
    # ready (old, new) over time: each old task leaves 74 s before its successor is healthy
    assert [(s.time.strftime("%M:%S"), s.ready_old, s.ready_new) for s in rollout.samples] == [
        ("00:00", 3, 0),
        ("00:01", 2, 0),
        ("01:15", 2, 1),
        ("01:16", 1, 1),
        ("02:30", 1, 2),
        ("02:31", 0, 2),
        ("03:45", 0, 3),
    ]
    assert figures(rollout) == (240.0, 0.0, 3 * 74.0)


def test_a_lower_minimum_healthy_share_in_the_catalog_is_not_degraded() -> None:
    catalog = parse_catalog(
        {
            "ecs": {"clusters": {"prod-eu": "prod"}},
            "services": {"checkout": {"min_healthy_percent": 66}},
        }
    )
    rollout = rollouts_of(events("rolling_update.jsonl"), catalog)[ROLLING]
    assert rollout.min_healthy_percent == 66.0
    assert figures(rollout) == (240.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", range(5))
def test_delivery_order_and_duplicates_change_nothing(seed: int) -> None:
    for name in ("rolling_update.jsonl", "circuit_breaker_rollback.jsonl"):
        in_order = rollouts_of(events(name))
        shuffled = events(name) * 2
        random.Random(seed).shuffle(shuffled)
        assert rollouts_of(shuffled) == in_order


def test_in_progress_rollout_is_measured_live_once_golive_knows_the_service() -> None:
    evts = events("rolling_update.jsonl")
    now = evts[0].time + timedelta(seconds=100)
    half = [e for e in evts if e.time <= now]
    # golive followed the previous deployment to its end: it knows every old task
    previous = _deployment_event(
        evts[0], "ecs-svc/7340011542209187001", "SERVICE_DEPLOYMENT_COMPLETED", -86400
    )
    rollout = rollouts_of([previous, *half])[ROLLING]
    assert rollout.in_progress
    cost = availability(rollout, now)
    assert cost is not None
    assert (cost.downtime, cost.degraded) == (0.0, 74.0 + 24.0)
    # Never followed before: the old tasks not replaced yet have said nothing, so no figures
    # until the rollout completes (then every old task has reported).
    unknown = rollouts_of(half)[ROLLING]
    assert (unknown.samples, unknown.desired) == ((), None)


# --- a circuit-breaker rollback ---------------------------------------------------------------


def test_circuit_breaker_rollback_is_one_rolled_back_rollout() -> None:
    rollouts = rollouts_of(events("circuit_breaker_rollback.jsonl"))
    assert set(rollouts) == {GOOD, BAD}  # the rollback deployment is not a rollout of its own
    rollout = rollouts[BAD]
    assert (rollout.from_version, rollout.to_version) == ("payments-api:7", "payments-api:8")
    assert rollout.outcome == "rolledback"
    assert rollout.finished_at is not None
    assert rollout.finished_at.strftime("%M:%S") == "03:51"  # when the rollback completed
    # one old task stopped at once; the new ones never became healthy; the rollback's
    # task restored the second instance at 03:20
    assert [(s.time.strftime("%M:%S"), s.ready_old, s.ready_new) for s in rollout.samples] == [
        ("00:00", 2, 0),
        ("00:02", 1, 0),
        ("03:20", 2, 0),
    ]
    assert figures(rollout) == (231.0, 0.0, 198.0)


def test_first_deployment_interrupts_nothing() -> None:
    rollout = rollouts_of(events("circuit_breaker_rollback.jsonl"))[GOOD]
    assert (rollout.from_version, rollout.to_version, rollout.desired) == (
        None,
        "payments-api:7",
        2,
    )
    assert figures(rollout) == (90.0, 0.0, 0.0)


def test_failed_rollout_of_a_service_never_followed_has_no_availability_figures() -> None:
    # Without the day before, golive never heard of the old task that kept running.
    evts = [e for e in events("circuit_breaker_rollback.jsonl") if e.time.day == 20]
    rollout = rollouts_of(evts)[BAD]
    assert (rollout.outcome, rollout.samples, rollout.desired) == ("rolledback", (), None)
    assert figures(rollout) == (231.0, 0.0, 0.0)


def test_failed_without_rollback_and_superseded_deployments() -> None:
    evts = events("circuit_breaker_rollback.jsonl")
    no_rollback = [e for e in evts if not _about_deployment(e, BACK)]
    assert rollouts_of(no_rollback)[BAD].outcome == "failed"
    # A newer deployment replacing one in progress, with no failure reported: failed then.
    no_end = [e for e in no_rollback if not _is(e, "SERVICE_DEPLOYMENT_FAILED")]
    newer = _deployment_event(
        evts[-1], "ecs-svc/5120987712340009", "SERVICE_DEPLOYMENT_IN_PROGRESS", 300
    )
    rollout = rollouts_of([*no_end, newer])[BAD]
    assert rollout.outcome == "failed"
    assert rollout.finished_at == newer.time


def test_steady_state_finishes_a_deployment_ecs_did_not_close() -> None:
    evts = [e for e in events("rolling_update.jsonl") if not _is(e, "SERVICE_DEPLOYMENT_COMPLETED")]
    rollout = rollouts_of(evts)[ROLLING]
    assert rollout.outcome == "succeeded"
    assert rollout.finished_at is not None
    assert rollout.finished_at.strftime("%M:%S") == "03:58"


def test_fleet_remembers_a_bounded_number_of_deployments() -> None:
    first = events("rolling_update.jsonl")[0]
    evts = [
        _deployment_event(first, f"ecs-svc/{i}", event_name, i * 1000 + offset)
        for i in range(12)
        for event_name, offset in (
            ("SERVICE_DEPLOYMENT_IN_PROGRESS", 0),
            ("SERVICE_DEPLOYMENT_COMPLETED", 60),
        )
    ]
    state = apply_all(evts, CATALOG)
    (fleet,) = state.fleets.values()
    assert sorted(fleet.deployments) == sorted(
        f"ecs-svc/{i}" for i in range(12 - ecs.KEEP_DEPLOYMENTS, 12)
    )
    assert len(state.rollouts) == 12  # rollouts already derived stay as they were


def test_catalog_ecs_settings() -> None:
    catalog = parse_catalog(
        {
            "ecs": {"clusters": {"prod-eu": "prod"}},
            "services": {"checkout": {"team": "payments", "min_healthy_percent": 50}},
        }
    )
    assert catalog.ecs_environment("prod-eu") == "prod"
    assert catalog.ecs_environment("staging") == "staging"
    assert (catalog.min_healthy("checkout"), catalog.min_healthy("search")) == (50.0, 100.0)
    assert catalog.owner("checkout") == "payments"
    for bad, words in [
        ({"ecs": {"clusters": {"prod-eu": 3}}}, "ecs.clusters.prod-eu"),
        ({"ecs": {"regions": {}}}, "ecs: unknown key"),
        ({"services": {"checkout": {"min_healthy_percent": 120}}}, "0 to 100"),
        ({"services": {"checkout": {"min_healthy_percent": "half"}}}, "must be a number"),
    ]:
        with pytest.raises(CatalogError, match=words):
            parse_catalog(bad)


# --- helpers ----------------------------------------------------------------------------------


def _is(event: Event, event_name: str) -> bool:
    return getattr(event.content, "event_name", None) == event_name


def _about_deployment(event: Event, deployment: str) -> bool:
    c = event.content
    if isinstance(c, EcsDeploymentStateChange):
        return c.deployment_id == deployment
    return isinstance(c, EcsTaskStateChange) and c.started_by == deployment


def _deployment_event(like: Event, deployment: str, event_name: str, seconds: float) -> Event:
    """A deployment event of the same service, `seconds` after `like`."""
    time = like.time + timedelta(seconds=seconds)
    content = EcsDeploymentStateChange.model_validate(
        {"eventName": event_name, "deploymentId": deployment, "updatedAt": time.isoformat()}
    )
    return replace(like, id=f"{deployment}/{event_name}", time=time, content=content)
