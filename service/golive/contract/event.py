"""The normalised event every input format decodes into."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from golive import fastjson
from golive.contract.content import (
    ArtifactPackagedContent,
    ArtifactPublishedContent,
    Content,
    IncidentContent,
    RolloutStarted,
    ServiceContent,
    ServiceLifecycleContent,
    TaskScheduled,
    TaskUpdated,
    TicketContent,
)
from golive.contract.ecs import (
    EcsDeploymentStateChange,
    EcsServiceAction,
    EcsTaskStateChange,
    service_of_arn,
)
from golive.contract.types import EventType
from golive.frozen import constructor


class Mode(StrEnum):
    """How the event arrived (CloudEvents Kafka binding, or a bare CDEvent)."""

    STRUCTURED = "structured"
    BINARY = "binary"
    CDEVENT = "cdevent"
    EVENTBRIDGE = "eventbridge"  # an Amazon EventBridge event, as EventBridge sends it


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted event: identity, event time, typed content and attribution.

    `(source, id)` identifies the event (duplicates share it); `time` is the event time
    from the CDEvent context, in UTC.
    """

    id: str
    source: str
    type: str
    kind: EventType
    spec_version: str
    mode: Mode
    time: datetime
    subject_id: str
    subject_source: str | None
    content: Content
    team: str | None = None
    custom_data: Mapping[str, Any] | None = None
    # The record value it was decoded from. Not its parsed document: holding that for
    # every event of a batch held 40-80 MB and millions of objects for the collector to
    # scan (docs/performance.md); the rare reader of `document` parses it again.
    raw: bytes = field(default=b"", compare=False, repr=False)

    @property
    def document(self) -> Mapping[str, Any]:
        """The CDEvent as received (context + subject [+ customData]); for an EventBridge
        event, the EventBridge event."""
        body: dict[str, Any] = fastjson.loads(self.raw.decode("utf-8"))
        if self.mode is not Mode.STRUCTURED:
            return body
        if "data" in body:
            data: dict[str, Any] = body["data"]
            return data
        decoded: dict[str, Any] = fastjson.loads(
            base64.b64decode(body["data_base64"]).decode("utf-8")
        )
        return decoded

    @property
    def name(self) -> str:
        """`subject.predicate`, e.g. `service.deployed`."""
        return self.kind.name

    @property
    def key(self) -> tuple[str, str]:
        """The deduplication key: CloudEvents `source` + `id`."""
        return (self.source, self.id)

    @property
    def service(self) -> str | None:
        """`entity_keys()["service"]`, if any, without making the other keys: team
        attribution reads it for nearly every event (docs/performance.md)."""
        read = _SERVICE_OF.get(type(self.content))
        return read(self) if read is not None else None

    @property
    def task_or_rollout(self) -> tuple[str, str] | None:
        """`("task", id)` or `("rollout", id)` as `entity_keys()` names them, if either,
        without making the other keys: activity attribution asks it of every event with
        no team (docs/performance.md, eleventh round)."""
        if type(self.content) in _TASK_CONTENT:
            return ("task", self.subject_id)
        if self.kind.subject == "golive-rollout":
            return ("rollout", self.subject_id)
        return None

    def entity_keys(self) -> dict[str, str]:
        """The entities this event is about (service, environment, release, task...)."""
        keys: dict[str, str] = {}
        c = self.content
        subject = self.kind.subject
        if isinstance(c, ServiceContent):
            keys |= {"service": self.subject_id, "environment": c.environment.id}
            keys["artifact"] = c.artifact_id
            version = purl_version(c.artifact_id)
            if version is not None:
                keys["version"] = version
        elif isinstance(c, ServiceLifecycleContent):
            keys["service"] = self.subject_id
            if c.environment is not None:
                keys["environment"] = c.environment.id
        elif isinstance(c, IncidentContent):
            keys |= {"incident": self.subject_id, "environment": c.environment.id}
            if c.service is not None:
                keys["service"] = c.service.id
        elif isinstance(c, ArtifactPackagedContent | ArtifactPublishedContent):
            keys["artifact"] = self.subject_id
            if c.change is not None:
                keys["change"] = c.change.id
        elif subject == "change":
            keys["change"] = self.subject_id
        elif isinstance(c, TicketContent):
            keys["task"] = self.subject_id
            if c.milestone:
                keys["release"] = c.milestone
        elif subject == "golive-release":
            keys["release"] = self.subject_id
        elif isinstance(c, TaskScheduled | TaskUpdated):
            keys["task"] = self.subject_id
            if c.release:
                keys["release"] = c.release
        elif isinstance(c, EcsDeploymentStateChange | EcsServiceAction | EcsTaskStateChange):
            # The subject of an ECS service's events is its ARN (`contract.eventbridge`).
            service = service_of_arn(self.subject_id)
            if service is not None:
                keys["service"] = service.name
        elif subject == "golive-rollout":
            keys["rollout"] = self.subject_id
            if isinstance(c, RolloutStarted):
                keys |= {"service": c.service, "environment": c.environment}
                keys["version"] = c.to_version
        if self.team:
            keys["team"] = self.team
        return keys


# `Event(...)` with every field, in declaration order, positionally: half the time of the
# generated `__init__` (golive.frozen). The decoder builds every event with it.
new_event: Callable[
    [
        str,
        str,
        str,
        EventType,
        str,
        Mode,
        datetime,
        str,
        str | None,
        Content,
        str | None,
        Mapping[str, Any] | None,
        bytes,
    ],
    Event,
] = constructor(Event)


def _ecs_service(event: Event) -> str | None:
    service = service_of_arn(event.subject_id)
    return service.name if service is not None else None


def _rollout_service(event: Event) -> str | None:
    c = event.content
    if event.kind.subject == "golive-rollout" and isinstance(c, RolloutStarted):
        return c.service
    return None


def _subject(event: Event) -> str | None:
    return event.subject_id


def _incident_service(event: Event) -> str | None:
    c = event.content
    return c.service.id if isinstance(c, IncidentContent) and c.service is not None else None


# The contents `entity_keys` reads a task from (by exact type, as `_SERVICE_OF`).
_TASK_CONTENT = frozenset({TicketContent, TaskScheduled, TaskUpdated})

# How `entity_keys` finds the service, by content type: a lookup by exact type instead of
# its run of isinstance checks, which go through ABCMeta for pydantic models (a test
# checks that both agree).
_SERVICE_OF = {
    ServiceContent: _subject,
    ServiceLifecycleContent: _subject,
    IncidentContent: _incident_service,
    EcsDeploymentStateChange: _ecs_service,
    EcsServiceAction: _ecs_service,
    EcsTaskStateChange: _ecs_service,
    RolloutStarted: _rollout_service,
}


def purl_version(purl: str) -> str | None:
    """The version of a package URL (`pkg:oci/app@sha256%3Aab` -> `sha256:ab`), if any."""
    body = purl.split("#", 1)[0].split("?", 1)[0]
    name_part = body.rsplit("/", 1)[-1]
    if "@" not in name_part:
        return None
    version = unquote(name_part.rsplit("@", 1)[1])
    return version or None
