"""Typed `subject.content` of the event types golive reads.

CDEvents models require what the CDEvents schemas require of the fields golive uses and
allow everything else; golive's own types (DESIGN section 8) are stricter, and their
JSON Schemas under `schemas/` are generated from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ObjectiveOp = Literal["<=", ">="]
TaskKind = Literal["plan", "corrective"]
TaskStatus = Literal["todo", "in_progress", "blocked", "done"]
ReleaseOutcome = Literal["completed", "cancelled"]
RolloutOutcome = Literal["succeeded", "failed", "rolledback"]


class Content(BaseModel):
    """Base of every content model: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class GenericContent(Content):
    """Content of a type golive stores and counts as activity but does not interpret."""


class Ref(Content):
    """A CDEvents reference to another subject (`{"id": ..., "source": ...}`)."""

    id: Annotated[str, Field(min_length=1)]
    source: str | None = None


# --- CDEvents core subjects -------------------------------------------------------------


class ServiceContent(Content):
    """service.deployed / upgraded / rolledback: `artifactId` is the version now running."""

    environment: Ref
    artifact_id: Annotated[str, Field(alias="artifactId", min_length=1)]


class ServiceLifecycleContent(Content):
    """service.removed / published: no artifact."""

    environment: Ref | None = None


class IncidentContent(Content):
    environment: Ref
    service: Ref | None = None
    artifact_id: Annotated[str | None, Field(alias="artifactId")] = None
    description: str | None = None
    ticket_uri: Annotated[str | None, Field(alias="ticketURI")] = None


class ChangeContent(Content):
    repository: Ref | None = None
    description: str | None = None


class ArtifactPackagedContent(Content):
    change: Ref


class ArtifactPublishedContent(Content):
    change: Ref | None = None  # not in the spec for `published`, honoured when present


class TicketContent(Content):
    summary: str | None = None
    ticket_type: Annotated[str | None, Field(alias="ticketType")] = None
    group: str | None = None
    assignees: list[str] = []
    milestone: str | None = None
    uri: str | None = None
    resolution: str | None = None
    # Filled from `customData` by the decoder, never read from `content`.
    due_date: AwareDatetime | None = Field(default=None, exclude=True)
    kind: TaskKind | None = Field(default=None, exclude=True)


class TicketCustomData(BaseModel):
    """What golive reads from a ticket's `customData` (all optional)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    due_date: Annotated[AwareDatetime | None, Field(alias="dueDate")] = None
    kind: TaskKind | None = None
    team: str | None = None


# --- golive custom types (dev.cdeventsx.golive-*) ---------------------------------------


NonEmpty = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]


# The KPIs an objective may name; durations are in seconds, frequencies per day.
ObjectiveKpi = Literal[
    "change_failure_ratio",
    "deployment_frequency",
    "deployments",
    "failed_deployments",
    "lead_time_p50",
    "lead_time_p90",
    "recovery_time_p50",
    "recovery_time_p90",
    "rework_ratio",
    "rollout_downtime_max",
    "rollout_downtime_total",
    "rollout_degraded_max",
    "tasks_done_ratio",
    "tasks_overdue",
]


class Objective(BaseModel):
    """A measurable release objective: `kpi op target`, e.g. change_failure_ratio <= 0.15."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: NonEmpty
    kpi: ObjectiveKpi
    op: ObjectiveOp
    target: float


class ReleasePlanned(Content):
    """`golive-release.planned`: a release with its go-live date and objectives."""

    name: str | None = None
    target_date: Annotated[AwareDatetime, Field(alias="targetDate")]
    environment: str | None = None
    services: list[NonEmpty] = []
    teams: list[NonEmpty] = []
    objectives: list[Objective] = []


class ReleaseUpdated(Content):
    """`golive-release.updated`: any field of `planned`; a new `targetDate` is a reschedule."""

    name: str | None = None
    target_date: Annotated[AwareDatetime | None, Field(alias="targetDate")] = None
    environment: str | None = None
    services: list[NonEmpty] | None = None
    teams: list[NonEmpty] | None = None
    objectives: list[Objective] | None = None


class ReleaseClosed(Content):
    """`golive-release.closed`."""

    outcome: ReleaseOutcome


class TaskScheduled(Content):
    """`golive-task.scheduled`: a piece of work a team must finish for a release."""

    release: NonEmpty
    team: NonEmpty | None = None
    title: str | None = None
    due_date: Annotated[AwareDatetime | None, Field(alias="dueDate")] = None
    kind: TaskKind = "plan"
    owner: str | None = None
    status: TaskStatus = "todo"


class TaskUpdated(Content):
    """`golive-task.updated`: a status change (other scheduled fields may change too)."""

    status: TaskStatus | None = None
    release: NonEmpty | None = None
    team: NonEmpty | None = None
    title: str | None = None
    due_date: Annotated[AwareDatetime | None, Field(alias="dueDate")] = None
    kind: TaskKind | None = None
    owner: str | None = None


class RolloutStarted(Content):
    """`golive-rollout.started`: a service starts replacing its instances."""

    service: NonEmpty
    environment: NonEmpty
    from_version: Annotated[str | None, Field(alias="fromVersion")] = None
    to_version: Annotated[NonEmpty, Field(alias="toVersion")]
    desired_instances: Annotated[Count, Field(alias="desiredInstances")]
    min_healthy_percent: Annotated[float, Field(alias="minHealthyPercent", ge=0, le=100)] = 100.0


class RolloutProgressed(Content):
    """`golive-rollout.progressed`: instances ready at the event's time."""

    ready_old: Annotated[Count, Field(alias="readyOld")]
    ready_new: Annotated[Count, Field(alias="readyNew")]
    desired_instances: Annotated[Count | None, Field(alias="desiredInstances")] = None


class RolloutFinished(Content):
    """`golive-rollout.finished`."""

    outcome: RolloutOutcome


# Content model of each interpreted type, by `subject.predicate`.
CONTENT_MODELS: dict[str, type[Content]] = {
    "service.deployed": ServiceContent,
    "service.upgraded": ServiceContent,
    "service.rolledback": ServiceContent,
    "service.removed": ServiceLifecycleContent,
    "service.published": ServiceLifecycleContent,
    "incident.detected": IncidentContent,
    "incident.reported": IncidentContent,
    "incident.resolved": IncidentContent,
    "change.created": ChangeContent,
    "change.merged": ChangeContent,
    "artifact.packaged": ArtifactPackagedContent,
    "artifact.published": ArtifactPublishedContent,
    "ticket.created": TicketContent,
    "ticket.updated": TicketContent,
    "ticket.closed": TicketContent,
    "golive-release.planned": ReleasePlanned,
    "golive-release.updated": ReleaseUpdated,
    "golive-release.closed": ReleaseClosed,
    "golive-task.scheduled": TaskScheduled,
    "golive-task.updated": TaskUpdated,
    "golive-rollout.started": RolloutStarted,
    "golive-rollout.progressed": RolloutProgressed,
    "golive-rollout.finished": RolloutFinished,
}

JsonObject = dict[str, Any]
