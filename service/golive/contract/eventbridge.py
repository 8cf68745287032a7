"""Amazon EventBridge events, delivered to the topic as EventBridge sends them.

An EventBridge event is a JSON envelope (`version`, `id`, `detail-type`, `source`,
`account`, `time`, `region`, `resources`, `detail`). golive reads Amazon ECS's
(`source: aws.ecs`, see `contract.ecs`) and stores any other as activity. The
deduplication key is (`source`, `id`): EventBridge gives every event its own id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from golive.contract.content import Content, GenericContent, NonEmpty
from golive.contract.ecs import (
    ECS_CONTENT_MODELS,
    ECS_EVENT_NAMES,
    ECS_SOURCE,
    EcsDeploymentStateChange,
    EcsServiceAction,
    EcsTaskStateChange,
    service_of_arn,
    service_of_task,
)
from golive.contract.errors import RejectedError, RejectionKind, validation_problems
from golive.contract.event import Event, Mode
from golive.contract.types import EventType, Namespace

DETAIL_TYPE = "detail-type"

_M = TypeVar("_M", bound=BaseModel)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: str | None = None
    id: NonEmpty
    detail_type: Annotated[NonEmpty, Field(alias=DETAIL_TYPE)]
    source: NonEmpty
    account: str | None = None
    time: AwareDatetime
    region: str | None = None
    resources: Annotated[list[str], Field(default_factory=list)]
    detail: dict[str, Any]


def is_eventbridge(body: Mapping[str, Any]) -> bool:
    """An EventBridge envelope, not a CloudEvent or a CDEvent."""
    return DETAIL_TYPE in body and "detail" in body and "specversion" not in body


def from_eventbridge(body: dict[str, Any], raw: bytes) -> Event:
    """The event an EventBridge envelope carries; raises `RejectedError` saying what is wrong."""
    envelope = _validate(Envelope, body, "the EventBridge event", "")
    name = _event_name(envelope.source, envelope.detail_type)
    model = ECS_CONTENT_MODELS.get(name) if envelope.source == ECS_SOURCE else None
    content = _validate(model or GenericContent, envelope.detail, "detail", "detail.")
    subject, sub, predicate = _subject_id(envelope, content), *name.split(".", 1)
    return Event(
        id=envelope.id,
        source=envelope.source,
        type=f"{envelope.source}/{envelope.detail_type}",
        kind=EventType(Namespace.EVENTBRIDGE, sub, predicate, envelope.version or "0"),
        spec_version=envelope.version or "0",
        mode=Mode.EVENTBRIDGE,
        time=_event_time(envelope, content),
        subject_id=subject,
        subject_source=envelope.source,
        content=content,
        raw=raw,
    )


def _event_name(source: str, detail_type: str) -> str:
    if source == ECS_SOURCE and detail_type in ECS_EVENT_NAMES:
        return ECS_EVENT_NAMES[detail_type]
    return f"{_slug(source)}.{_slug(detail_type)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "event"


def _subject_id(envelope: Envelope, content: Content) -> str:
    """What the event is about: an ECS event names its service by its long ARN, so that
    task events (which carry the cluster and `service:<name>`) and deployment events
    (which carry the service ARN) meet on one key."""
    if isinstance(content, EcsTaskStateChange):
        service = service_of_task(content)
        return service.arn if service else content.task_arn
    if isinstance(content, EcsDeploymentStateChange | EcsServiceAction):
        cluster = content.cluster_arn if isinstance(content, EcsServiceAction) else None
        for resource in envelope.resources:
            found = service_of_arn(resource, cluster)
            if found is not None:
                return found.arn
        raise RejectedError(
            RejectionKind.MISSING_ATTRIBUTE,
            f"{envelope.detail_type} event {envelope.id}: no service ARN in 'resources'",
        )
    return envelope.resources[0] if envelope.resources else envelope.id


def _event_time(envelope: Envelope, content: Content) -> datetime:
    """When the change happened: `detail.updatedAt` / `createdAt` (milliseconds) where ECS
    gives it, else the envelope's `time` (seconds)."""
    precise: datetime | None = None
    if isinstance(content, EcsDeploymentStateChange | EcsTaskStateChange):
        precise = content.updated_at
    elif isinstance(content, EcsServiceAction):
        precise = content.created_at
    return (precise or envelope.time).astimezone(UTC)


def _validate(model: type[_M], value: Any, what: str, prefix: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as err:
        problems = validation_problems(err, prefix)
        raise RejectedError(RejectionKind.INVALID_CONTENT, f"invalid {what}: {problems}") from None
