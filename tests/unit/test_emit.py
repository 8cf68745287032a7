"""`golive emit`'s events: flags to CloudEvents that golive's own decoder accepts."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import Any

import pytest

from golive.cli import build_parser, ci_source, event_of_flags
from golive.contract import Event, Mode, decode_json
from golive.contract.content import (
    IncidentContent,
    RolloutFinished,
    RolloutProgressed,
    RolloutStarted,
    ServiceContent,
    TaskScheduled,
    TicketContent,
)
from golive.emit.events import CDEVENT_TYPE_VERSIONS, UnknownEventType, cloudevent, full_type
from golive.emit.flags import FlagError, event_parts, flag_hints
from golive.emit.senders import check_events
from tests.conftest import cdevents_dir

AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def emitted(command: str) -> Event:
    """The event `golive emit COMMAND` would send, decoded by golive."""
    fixed = f"--id e-1 --source ci/test --time {AT.isoformat()}"
    args = build_parser().parse_args(["emit", *shlex.split(command), *shlex.split(fixed)])
    document = event_of_flags(args)
    event = decode_json(document)
    assert isinstance(event, Event), event
    return event


def test_full_types_match_the_cdevents_0_5_1_conformance_examples() -> None:
    examples = sorted((cdevents_dir() / "v0.5.1" / "conformance").glob("*.json"))
    types = {json.loads(p.read_text())["context"]["type"] for p in examples}
    assert {full_type(name) for name in CDEVENT_TYPE_VERSIONS} == types
    assert full_type("golive-rollout.started") == "dev.cdeventsx.golive-rollout.started.0.1.0"
    assert full_type("dev.cdevents.service.deployed.0.2.0") == "dev.cdevents.service.deployed.0.2.0"
    with pytest.raises(UnknownEventType, match=r"subject\.predicate"):
        full_type("service.exploded")


def test_service_deployed_from_the_issue_example() -> None:
    event = emitted(
        "--type service.deployed --service checkout --environment prod --version 1.4.2 "
        "--team payments"
    )
    assert event.mode is Mode.STRUCTURED
    assert (event.subject_id, event.team, event.time) == ("checkout", "payments", AT)
    assert isinstance(event.content, ServiceContent)
    assert event.content.environment.id == "prod"
    assert event.content.artifact_id == "pkg:generic/checkout@1.4.2"
    assert event.entity_keys()["version"] == "1.4.2"


def test_a_rollout_from_start_to_finish() -> None:
    started = emitted(
        "--type golive-rollout.started --rollout r-7 --service checkout --environment "
        "prod --from-version 1.4.1 --version 1.4.2 --desired 3 --min-healthy-percent 66"
    )
    assert isinstance(started.content, RolloutStarted)
    assert started.content.to_version == "1.4.2"
    assert (started.content.desired_instances, started.content.min_healthy_percent) == (3, 66)
    progressed = emitted(
        "--type golive-rollout.progressed --rollout r-7 --ready-old 2 --ready-new 1"
    )
    assert isinstance(progressed.content, RolloutProgressed)
    assert (progressed.content.ready_old, progressed.content.ready_new) == (2, 1)
    finished = emitted("--type golive-rollout.finished --rollout r-7 --outcome rolledback")
    assert isinstance(finished.content, RolloutFinished)
    assert finished.content.outcome == "rolledback"
    assert {started.subject_id, progressed.subject_id, finished.subject_id} == {"r-7"}


def test_the_rollout_id_defaults_to_golive_rollout_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_ROLLOUT_ID", "r-from-env")
    event = emitted("--type golive-rollout.finished --outcome succeeded")
    assert event.subject_id == "r-from-env"


def test_tasks_tickets_releases_and_incidents() -> None:
    task = emitted(
        "--type golive-task.scheduled --task T-1 --release 2026-12 --team payments "
        "--title Migrate --due 2026-12-01T17:00:00Z --kind corrective --owner ana"
    )
    assert isinstance(task.content, TaskScheduled)
    assert (task.content.release, task.content.team, task.content.kind) == (
        "2026-12",
        "payments",
        "corrective",
    )
    ticket = emitted(
        "--type ticket.created --task JIRA-9 --release 2026-12 --team storefront --title "
        "'Fix cart' --due 2026-12-02T12:00:00Z"
    )
    assert isinstance(ticket.content, TicketContent)
    assert (ticket.content.milestone, ticket.content.group) == ("2026-12", "storefront")
    assert ticket.content.due_date == datetime(2026, 12, 2, 12, tzinfo=UTC)
    release = emitted(
        "--type golive-release.planned --release 2026-12 --name December "
        "--target-date 2026-12-10T08:00:00Z --services 'checkout, cart' "
        """--set 'objectives=[{"id":"cfr","kpi":"change_failure_ratio","op":"<=","target":0.15}]'"""
    )
    assert release.document["subject"]["content"]["services"] == ["checkout", "cart"]
    assert release.document["subject"]["content"]["objectives"][0]["target"] == 0.15
    incident = emitted(
        "--type incident.detected --incident INC-1 --environment prod --service checkout "
        "--description '5xx spike'"
    )
    assert isinstance(incident.content, IncidentContent)
    assert incident.content.service is not None
    assert incident.content.service.id == "checkout"


def test_set_values_are_json_when_they_parse_else_strings() -> None:
    event = emitted(
        "--type change.merged --change PR-4 --set size=3 --set draft=false --set 'title=hot fix'"
    )
    content: dict[str, Any] = event.document["subject"]["content"]
    assert content == {"size": 3, "draft": False, "title": "hot fix"}


def test_a_missing_subject_names_the_flag() -> None:
    with pytest.raises(FlagError, match="--rollout or --subject"):
        event_parts("golive-rollout.progressed", {"ready_old": 1, "ready_new": 1})
    with pytest.raises(FlagError, match="--subject"):
        event_parts("build.started", {})


def test_a_missing_field_is_rejected_as_golive_would_and_points_at_its_flag() -> None:
    parts = event_parts("golive-rollout.progressed", {"rollout": "r-1", "ready_old": 2})
    document = cloudevent(
        "golive-rollout.progressed", parts.subject_id, parts.content, id="x", source="s", time=AT
    )
    (rejected,) = check_events([document])
    assert rejected.kind == "invalid_content"
    assert "subject.content.readyNew: Field required" in rejected.reason
    assert flag_hints(rejected.reason) == ["subject.content.readyNew: --ready-new"]


@pytest.mark.parametrize(
    ("env", "source"),
    [
        (
            {"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SERVER_URL": "https://gh.acme"},
            "https://gh.acme/acme/shop",
        ),
        ({"GITHUB_REPOSITORY": "acme/shop"}, "https://github.com/acme/shop"),
        ({"CI_PROJECT_URL": "https://gitlab.acme/shop"}, "https://gitlab.acme/shop"),
        ({"JOB_URL": "https://jenkins.acme/job/shop/"}, "https://jenkins.acme/job/shop/"),
        ({}, "golive-emit"),
    ],
)
def test_the_source_is_the_ci_project(env: dict[str, str], source: str) -> None:
    assert ci_source(env) == source
