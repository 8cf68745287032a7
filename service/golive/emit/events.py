"""Building events to send to golive: CloudEvents (structured mode) carrying a CDEvent.

Pure: the caller gives the time and the id (`golive emit` takes them from the clock and
uuid4). The result is the JSON document to POST with
`Content-Type: application/cloudevents+json` or to produce to Kafka as the record value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CDEVENTS_SPEC_VERSION = "0.5.1"
GOLIVE_TYPE_VERSION = "0.1.0"

# Version of each CDEvents 0.5.1 event type (from the spec's conformance examples).
CDEVENT_TYPE_VERSIONS: dict[str, str] = {
    "artifact.deleted": "0.2.0",
    "artifact.downloaded": "0.2.0",
    "artifact.packaged": "0.3.0",
    "artifact.published": "0.3.0",
    "artifact.signed": "0.3.0",
    "branch.created": "0.3.0",
    "branch.deleted": "0.3.0",
    "build.finished": "0.3.0",
    "build.queued": "0.3.0",
    "build.started": "0.3.0",
    "change.abandoned": "0.3.0",
    "change.created": "0.4.0",
    "change.merged": "0.3.0",
    "change.reviewed": "0.3.0",
    "change.updated": "0.3.0",
    "environment.created": "0.3.0",
    "environment.deleted": "0.3.0",
    "environment.modified": "0.3.0",
    "incident.detected": "0.3.0",
    "incident.reported": "0.3.0",
    "incident.resolved": "0.3.0",
    "pipelinerun.finished": "0.3.0",
    "pipelinerun.queued": "0.3.0",
    "pipelinerun.started": "0.3.0",
    "repository.created": "0.3.0",
    "repository.deleted": "0.3.0",
    "repository.modified": "0.3.0",
    "service.deployed": "0.3.0",
    "service.published": "0.3.0",
    "service.removed": "0.3.0",
    "service.rolledback": "0.3.0",
    "service.upgraded": "0.3.0",
    "taskrun.finished": "0.3.0",
    "taskrun.started": "0.3.0",
    "testcaserun.finished": "0.3.0",
    "testcaserun.queued": "0.3.0",
    "testcaserun.skipped": "0.2.0",
    "testcaserun.started": "0.3.0",
    "testoutput.published": "0.3.0",
    "testsuiterun.finished": "0.3.0",
    "testsuiterun.queued": "0.3.0",
    "testsuiterun.started": "0.3.0",
    "ticket.closed": "0.2.0",
    "ticket.created": "0.2.0",
    "ticket.updated": "0.2.0",
}


class UnknownEventType(ValueError):
    """A short type name golive cannot expand (a full type is always taken as given)."""


def full_type(name: str) -> str:
    """`service.deployed` -> `dev.cdevents.service.deployed.0.3.0`;
    `golive-rollout.progressed` -> `dev.cdeventsx.golive-rollout.progressed.0.1.0`;
    a full `dev.cdevents...` type is returned as it is."""
    if name.startswith(("dev.cdevents.", "dev.cdeventsx.")):
        return name
    if name.startswith("golive-"):
        return f"dev.cdeventsx.{name}.{GOLIVE_TYPE_VERSION}"
    version = CDEVENT_TYPE_VERSIONS.get(name)
    if version is None:
        raise UnknownEventType(
            f"unknown event type {name!r}: give subject.predicate (e.g. service.deployed, "
            f"golive-rollout.started) or a full type (dev.cdevents.service.deployed.0.3.0)"
        )
    return f"dev.cdevents.{name}.{version}"


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cloudevent(
    type_: str,
    subject_id: str,
    content: Mapping[str, Any],
    *,
    id: str,
    source: str,
    time: datetime,
    team: str | None = None,
    custom_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudEvent 1.0 (structured mode) whose `data` is the CDEvent 0.5.1.

    `type_` is a short name (`service.deployed`) or a full type. The envelope repeats the
    context, as the CDEvents CloudEvents binding requires; `team` is the CloudEvents
    extension golive credits the event to.
    """
    kind = full_type(type_)
    timestamp = rfc3339(time)
    cdevent: dict[str, Any] = {
        "context": {
            "specversion": CDEVENTS_SPEC_VERSION,
            "id": id,
            "source": source,
            "type": kind,
            "timestamp": timestamp,
        },
        "subject": {"id": subject_id, "source": source, "content": dict(content)},
    }
    if custom_data:
        cdevent["customData"] = dict(custom_data)
        cdevent["customDataContentType"] = "application/json"
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": kind,
        "subject": subject_id,
        "time": timestamp,
        "datacontenttype": "application/json",
    }
    if team:
        envelope["team"] = team
    return envelope | {"data": cdevent}


def subject_of(event: Mapping[str, Any]) -> str:
    """The subject id of a structured CloudEvent or plain CDEvent (the Kafka key)."""
    data = event.get("data", event)
    subject = data.get("subject") if isinstance(data, Mapping) else None
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return str(subject["id"])
    return str(event.get("subject", ""))
