"""JSON views of domain entities and KPIs for the read API (pure).

Each view is a TypedDict: mypy checks the code against it, and FastAPI derives the
OpenAPI schema of the endpoint from it and validates every answer, so the document
cannot drift from what golive sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import quote

from typing_extensions import TypedDict  # pydantic needs it for TypedDicts on Python < 3.12

from golive.alerting.lifecycle import AlertState
from golive.contract.content import ObjectiveKpi, ObjectiveOp, RolloutOutcome, TaskKind, TaskStatus
from golive.domain.catalog import Catalog
from golive.domain.delivery import deliveries
from golive.domain.model import Release, ReleaseStatus
from golive.domain.releases import (
    is_late,
    objectives,
    progress,
    release_tasks,
    release_teams,
    schedule_slip,
)
from golive.domain.rollouts import availability
from golive.domain.state import State, known_releases
from golive.domain.teams import all_team_statuses
from golive.store.published import PublishedReport


class ReleaseSummary(TypedDict):
    id: str
    name: str | None
    status: ReleaseStatus
    environment: str | None
    targetDate: str | None
    scheduleSlipSeconds: float | None  # latest target minus the first one
    late: bool
    progress: float | None  # done / all tasks; null without tasks
    tasks: dict[str, int]  # by status
    overdueByTeam: dict[str, int]  # team "" = unattributed
    services: list[str]
    teams: list[str]


class ObjectiveView(TypedDict):
    id: str
    kpi: ObjectiveKpi
    op: ObjectiveOp
    target: float
    value: float | None  # null: no data yet
    met: bool | None


class TaskView(TypedDict):
    id: str
    title: str | None
    team: str | None
    owner: str | None
    kind: TaskKind
    status: TaskStatus
    due: str | None
    overdue: bool
    doneAt: str | None


class ReleaseDetail(ReleaseSummary):
    objectives: list[ObjectiveView]
    taskList: list[TaskView]


class TeamView(TypedDict):
    team: str
    lastActivity: str | None
    events: int
    openTasks: int
    quietBusinessSeconds: float
    idleAfterSeconds: float
    idle: bool


class RolloutView(TypedDict):
    id: str
    service: str | None
    environment: str | None
    fromVersion: str | None
    toVersion: str | None
    desiredInstances: int | None
    minHealthyPercent: float
    startedAt: str | None
    finishedAt: str | None
    outcome: RolloutOutcome | None
    inProgress: bool
    durationSeconds: float | None
    downtimeSeconds: float | None
    degradedSeconds: float | None


class DeploymentView(TypedDict):
    service: str
    environment: str
    version: str
    artifact: str | None
    deployedAt: str
    outcome: Literal["success", "failed"]
    failedAt: str | None
    rework: bool
    completed: bool


class AlertView(TypedDict):
    fingerprint: str
    alertname: str
    severity: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    resolvedAt: str | None
    lastSentAt: str | None
    path: str


class WebhookDelivery(TypedDict):
    deliveredAt: str | None
    attempts: int
    lastError: str | None


class ReportLinks(TypedDict):
    json: str
    md: str
    html: str


class PublishedReportView(TypedDict):
    period: str
    label: str
    timezone: str
    start: str
    end: str
    generatedAt: str
    webhook: WebhookDelivery | None  # null: no webhook was set when it was published
    links: ReportLinks


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def release_summary(state: State, release: Release, now: datetime) -> ReleaseSummary:
    done = progress(state, release.id, now)
    slip = schedule_slip(release)
    return {
        "id": release.id,
        "name": release.name,
        "status": release.status,
        "environment": release.environment,
        "targetDate": _time(release.target_date),
        "scheduleSlipSeconds": slip.total_seconds() if slip is not None else None,
        "late": is_late(state, release, now),
        "progress": done.ratio,
        "tasks": {str(status): n for status, n in done.tasks_by_status.items()},
        "overdueByTeam": done.overdue_by_team,
        "services": list(release.services),
        "teams": release_teams(state, release),
    }


def release_detail(state: State, release: Release, now: datetime) -> ReleaseDetail:
    summary = release_summary(state, release, now)
    objective_views: list[ObjectiveView] = [
        {
            "id": s.objective.id,
            "kpi": s.objective.kpi,
            "op": s.objective.op,
            "target": s.objective.target,
            "value": s.value,
            "met": s.met,
        }
        for s in objectives(state, release, now)
    ]
    task_views: list[TaskView] = [
        {
            "id": t.id,
            "title": t.title,
            "team": t.team,
            "owner": t.owner,
            "kind": t.kind,
            "status": t.status,
            "due": _time(t.due),
            "overdue": t.is_overdue(now),
            "doneAt": _time(t.done_at),
        }
        for t in sorted(release_tasks(state, release.id), key=lambda t: t.id)
    ]
    return ReleaseDetail(**summary, objectives=objective_views, taskList=task_views)


def releases(state: State, now: datetime) -> list[ReleaseSummary]:
    return [release_summary(state, r, now) for _, r in sorted(known_releases(state).items())]


def teams(state: State, catalog: Catalog, now: datetime) -> list[TeamView]:
    return [
        {
            "team": s.team,
            "lastActivity": _time(s.last_activity),
            "events": state.teams[s.team].events if s.team in state.teams else 0,
            "openTasks": s.open_tasks,
            "quietBusinessSeconds": s.quiet_business_seconds,
            "idleAfterSeconds": s.idle_after_seconds,
            "idle": s.idle,
        }
        for s in all_team_statuses(state, catalog, now)
    ]


def rollouts(state: State, now: datetime) -> list[RolloutView]:
    result: list[RolloutView] = []
    for rollout in sorted(
        state.rollouts.values(), key=lambda r: (r.started_at is None, r.started_at, r.id)
    ):
        measure = availability(rollout, now)
        result.append(
            {
                "id": rollout.id,
                "service": rollout.service,
                "environment": rollout.environment,
                "fromVersion": rollout.from_version,
                "toVersion": rollout.to_version,
                "desiredInstances": rollout.desired,
                "minHealthyPercent": rollout.min_healthy_percent,
                "startedAt": _time(rollout.started_at),
                "finishedAt": _time(rollout.finished_at),
                "outcome": rollout.outcome,
                "inProgress": rollout.in_progress,
                "durationSeconds": measure.duration if measure else None,
                "downtimeSeconds": measure.downtime if measure else None,
                "degradedSeconds": measure.degraded if measure else None,
            }
        )
    return result


def deployments(state: State) -> list[DeploymentView]:
    result: list[DeploymentView] = []
    for delivery in deliveries(state).values():
        for d in delivery.deployments:
            result.append(
                {
                    "service": d.service,
                    "environment": d.environment,
                    "version": d.version,
                    "artifact": d.artifact,
                    "deployedAt": _stamp(d.deployed_at),
                    "outcome": d.outcome,
                    "failedAt": _time(d.failed_at),
                    "rework": d.rework,
                    "completed": d.completed,
                }
            )
    return sorted(result, key=lambda d: (d["deployedAt"], d["service"], d["environment"]))


def alert(state: AlertState) -> AlertView:
    return {
        "fingerprint": state.fingerprint,
        "alertname": state.alertname,
        "severity": state.severity,
        "status": "firing" if state.firing else "resolved",
        "labels": dict(state.labels),
        "annotations": dict(state.annotations),
        "startsAt": _stamp(state.starts_at),
        "resolvedAt": _time(state.resolved_at),
        "lastSentAt": _time(state.last_sent_at),
        "path": state.path,
    }


def published_report(r: PublishedReport) -> PublishedReportView:
    query = f"?timezone={quote(r.timezone, safe='')}"
    path = f"/api/v1/reports/{r.kind}/{r.label}"
    return {
        "period": r.kind,
        "label": r.label,
        "timezone": r.timezone,
        "start": _stamp(r.period_start),
        "end": _stamp(r.period_end),
        "generatedAt": _stamp(r.generated_at),
        "webhook": (
            None
            if not r.delivery_due
            else {
                "deliveredAt": _time(r.delivered_at),
                "attempts": r.attempts,
                "lastError": r.last_error,
            }
        ),
        "links": {
            "json": f"{path}{query}&format=json",
            "md": f"{path}{query}&format=md",
            "html": f"{path}{query}&format=html",
        },
    }
