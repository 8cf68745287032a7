"""JSON views of domain entities and KPIs for the read API (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from golive.alerting.lifecycle import AlertState
from golive.domain.catalog import Catalog
from golive.domain.delivery import deliveries
from golive.domain.model import Release
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


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def release_summary(state: State, release: Release, now: datetime) -> dict[str, Any]:
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
        "tasks": done.tasks_by_status,
        "overdueByTeam": done.overdue_by_team,
        "services": list(release.services),
        "teams": release_teams(state, release),
    }


def release_detail(state: State, release: Release, now: datetime) -> dict[str, Any]:
    detail = release_summary(state, release, now)
    detail["objectives"] = [
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
    detail["taskList"] = [
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
    return detail


def releases(state: State, now: datetime) -> list[dict[str, Any]]:
    return [release_summary(state, r, now) for _, r in sorted(known_releases(state).items())]


def teams(state: State, catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
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


def rollouts(state: State, now: datetime) -> list[dict[str, Any]]:
    result = []
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


def deployments(state: State) -> list[dict[str, Any]]:
    result = []
    for delivery in deliveries(state).values():
        for d in delivery.deployments:
            result.append(
                {
                    "service": d.service,
                    "environment": d.environment,
                    "version": d.version,
                    "artifact": d.artifact,
                    "deployedAt": _time(d.deployed_at),
                    "outcome": d.outcome,
                    "failedAt": _time(d.failed_at),
                    "rework": d.rework,
                    "completed": d.completed,
                }
            )
    return sorted(result, key=lambda d: (d["deployedAt"], d["service"], d["environment"]))


def alert(state: AlertState) -> dict[str, Any]:
    return {
        "fingerprint": state.fingerprint,
        "alertname": state.alertname,
        "severity": state.severity,
        "status": "firing" if state.firing else "resolved",
        "labels": dict(state.labels),
        "annotations": dict(state.annotations),
        "startsAt": _time(state.starts_at),
        "resolvedAt": _time(state.resolved_at),
        "lastSentAt": _time(state.last_sent_at),
        "path": state.path,
    }


def published_report(r: PublishedReport) -> dict[str, Any]:
    query = f"?timezone={quote(r.timezone, safe='')}"
    path = f"/api/v1/reports/{r.kind}/{r.label}"
    return {
        "period": r.kind,
        "label": r.label,
        "timezone": r.timezone,
        "start": _time(r.period_start),
        "end": _time(r.period_end),
        "generatedAt": _time(r.generated_at),
        "webhook": (
            None
            if not r.delivery_due
            else {
                "deliveredAt": _time(r.delivered_at),
                "attempts": r.attempts,
                "lastError": r.last_error,
            }
        ),
        "links": {f: f"{path}{query}&format={f}" for f in ("json", "md", "html")},
    }
