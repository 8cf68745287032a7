"""Amazon ECS events as EventBridge delivers them: the `detail` of each detail type golive
reads, and the service ARNs that name an ECS service.

Field names follow the Amazon ECS developer guide ("Amazon ECS events"); unknown fields
are kept, as the guide asks consumers to expect new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AwareDatetime, Field

from golive.contract.content import Content, NonEmpty

ECS_SOURCE = "aws.ecs"

# EventBridge detail type -> golive event name (`subject.predicate`).
ECS_EVENT_NAMES = {
    "ECS Deployment State Change": "ecs-deployment.state-change",
    "ECS Task State Change": "ecs-task.state-change",
    "ECS Service Action": "ecs-service.action",
    "ECS Container Instance State Change": "ecs-container-instance.state-change",
}


class EcsDeploymentStateChange(Content):
    """`SERVICE_DEPLOYMENT_IN_PROGRESS | _COMPLETED | _FAILED` of one service deployment."""

    event_type: Annotated[str | None, Field(alias="eventType")] = None
    event_name: Annotated[NonEmpty, Field(alias="eventName")]
    deployment_id: Annotated[NonEmpty, Field(alias="deploymentId")]
    updated_at: Annotated[AwareDatetime | None, Field(alias="updatedAt")] = None
    reason: str | None = None


class EcsContainer(Content):
    name: str | None = None
    image: str | None = None
    last_status: Annotated[str | None, Field(alias="lastStatus")] = None
    health_status: Annotated[str | None, Field(alias="healthStatus")] = None


class EcsTaskStateChange(Content):
    """One task's state: which deployment started it, on which task definition, and how
    far it is from serving (`lastStatus`, `desiredStatus`, `healthStatus`)."""

    cluster_arn: Annotated[NonEmpty, Field(alias="clusterArn")]
    task_arn: Annotated[NonEmpty, Field(alias="taskArn")]
    task_definition_arn: Annotated[NonEmpty, Field(alias="taskDefinitionArn")]
    group: str | None = None  # `service:<name>` for a service's tasks
    started_by: Annotated[str | None, Field(alias="startedBy")] = None  # the deployment id
    last_status: Annotated[NonEmpty, Field(alias="lastStatus")]
    desired_status: Annotated[str | None, Field(alias="desiredStatus")] = None
    health_status: Annotated[str | None, Field(alias="healthStatus")] = None
    version: int | None = None  # ECS increments it at every change of the task
    created_at: Annotated[AwareDatetime | None, Field(alias="createdAt")] = None
    started_at: Annotated[AwareDatetime | None, Field(alias="startedAt")] = None
    stopped_at: Annotated[AwareDatetime | None, Field(alias="stoppedAt")] = None
    updated_at: Annotated[AwareDatetime | None, Field(alias="updatedAt")] = None
    stopped_reason: Annotated[str | None, Field(alias="stoppedReason")] = None
    containers: Annotated[list[EcsContainer], Field(default_factory=list)]

    @property
    def service_name(self) -> str | None:
        """The service whose scheduler started the task; None for a standalone task."""
        group = self.group or ""
        if not group.startswith("service:"):
            return None
        return group.removeprefix("service:") or None


class EcsServiceAction(Content):
    """A service scheduler event: `SERVICE_STEADY_STATE`, `SERVICE_TASK_START_IMPAIRED`..."""

    event_type: Annotated[str | None, Field(alias="eventType")] = None
    event_name: Annotated[NonEmpty, Field(alias="eventName")]
    cluster_arn: Annotated[str | None, Field(alias="clusterArn")] = None
    created_at: Annotated[AwareDatetime | None, Field(alias="createdAt")] = None
    reason: str | None = None


EcsContent = EcsDeploymentStateChange | EcsTaskStateChange | EcsServiceAction

ECS_CONTENT_MODELS: dict[str, type[Content]] = {
    "ecs-deployment.state-change": EcsDeploymentStateChange,
    "ecs-task.state-change": EcsTaskStateChange,
    "ecs-service.action": EcsServiceAction,
}


# --- ARNs -----------------------------------------------------------------------------------

_ARN_RE = re.compile(
    r"^arn:(?P<partition>[a-z-]+):ecs:(?P<region>[a-z0-9-]*):(?P<account>\d*):"
    r"(?P<kind>[a-z-]+)/(?P<path>.+)$"
)


@dataclass(frozen=True, slots=True)
class EcsService:
    """An ECS service: the cluster it runs in and its name, under one account and region."""

    partition: str
    region: str
    account: str
    cluster: str
    name: str

    @property
    def arn(self) -> str:
        """The long ARN form (`service/<cluster>/<name>`): one key per service."""
        return (
            f"arn:{self.partition}:ecs:{self.region}:{self.account}:"
            f"service/{self.cluster}/{self.name}"
        )


def _arn(text: str) -> re.Match[str] | None:
    return _ARN_RE.match(text)


def cluster_name(cluster_arn: str) -> str:
    """`arn:aws:ecs:...:cluster/prod-eu` -> `prod-eu` (a bare name is returned as it is)."""
    match = _arn(cluster_arn)
    return match["path"] if match and match["kind"] == "cluster" else cluster_arn


def service_of_arn(arn: str, cluster_arn: str | None = None) -> EcsService | None:
    """The service a service ARN names. The short form (`service/<name>`, from before
    2018) has no cluster: it comes from `cluster_arn`, else `default`."""
    match = _arn(arn)
    if match is None or match["kind"] != "service":
        return None
    cluster, _, name = match["path"].rpartition("/")
    if not cluster:
        cluster = cluster_name(cluster_arn) if cluster_arn else "default"
    return EcsService(match["partition"], match["region"], match["account"], cluster, name)


def service_of_task(change: EcsTaskStateChange) -> EcsService | None:
    """The service a task belongs to (from its cluster ARN and `group`), if any."""
    match = _arn(change.cluster_arn)
    name = change.service_name
    if match is None or match["kind"] != "cluster" or name is None:
        return None
    return EcsService(match["partition"], match["region"], match["account"], match["path"], name)


def task_definition_version(task_definition_arn: str) -> str:
    """`arn:aws:ecs:...:task-definition/checkout:42` -> `checkout:42`, the version ECS
    deploys (a bare `family:revision` is returned as it is)."""
    match = _arn(task_definition_arn)
    return match["path"] if match and match["kind"] == "task-definition" else task_definition_arn


_ROLLBACK_RE = re.compile(r"rolling back to deploymentId (?P<target>[\w/.-]+?)\.?$")


def rollback_target(reason: str | None) -> str | None:
    """The deployment a rollback deployment restores, from its `reason`
    ("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123.")."""
    match = _ROLLBACK_RE.search((reason or "").strip())
    return match["target"] if match else None
