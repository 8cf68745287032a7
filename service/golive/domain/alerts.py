"""Alert conditions: which golive alerts fire, as a pure function of the KPI snapshot,
the catalog (thresholds, owners) and `now` (DESIGN sections 8 and 9).

Each alert names its entity in bounded labels (release, team, service, environment,
objective), and carries a summary, a description with the figures, and the corrective
action to take.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from golive.domain.catalog import Catalog
from golive.domain.snapshot import KpiSnapshot

Severity = Literal["critical", "warning"]

# Every alert golive raises, with its severity.
ALERT_SEVERITY: dict[str, Severity] = {
    "GoliveTaskOverdue": "warning",
    "GoliveReleaseAtRisk": "warning",
    "GoliveReleaseLate": "critical",
    "GoliveTeamIdle": "warning",
    "GoliveRolloutStuck": "critical",
    "GoliveRolloutDowntime": "critical",
    "GoliveDeploymentFailed": "critical",
    "GoliveObjectiveOffTrack": "warning",
}


@dataclass(frozen=True, slots=True)
class Alert:
    name: str
    severity: Severity
    entity: tuple[tuple[str, str], ...]  # sorted (label, value) pairs naming the entity
    summary: str
    description: str
    action: str
    path: str = field(default="/api/v1/alerts")  # golive API page of the entity

    @property
    def labels(self) -> dict[str, str]:
        return {"alertname": self.name, "severity": self.severity, **dict(self.entity)}

    @property
    def fingerprint(self) -> str:
        """Stable identity of the alert: its name and entity (not its wording)."""
        text = "\x1f".join([self.name, *(f"{k}={v}" for k, v in self.entity)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def annotations(self) -> dict[str, str]:
        return {"summary": self.summary, "description": self.description, "action": self.action}


def _entity(**labels: str | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if v))


def _day(when: datetime | None) -> str:
    return when.strftime("%a %d %b %Y %H:%M UTC") if when else "unknown"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def _release_path(release: str) -> str:
    return f"/api/v1/releases/{quote(release, safe='')}"


def evaluate_alerts(snapshot: KpiSnapshot, catalog: Catalog, now: datetime) -> list[Alert]:
    """Every alert firing now, sorted by fingerprint."""
    alerts = [
        *_releases(snapshot),
        *_teams(snapshot),
        *_rollouts(snapshot, catalog, now),
        *_failures(snapshot, catalog),
    ]
    return sorted(alerts, key=lambda a: a.fingerprint)


def _releases(s: KpiSnapshot) -> Iterator[Alert]:
    for (release, team), count in sorted(s.overdue.items()):
        if count > 0:
            who = team or "no team"
            yield Alert(
                "GoliveTaskOverdue",
                "warning",
                _entity(release=release, team=team),
                f"{count} task(s) of {who} overdue in release {release}",
                f"{count} open task(s) of {who} in release {release} are past their due date.",
                "Re-plan or re-staff: agree a new due date with the team lead, split the "
                "task, or move people onto it; close it if it is done.",
                _release_path(release),
            )
    for row in s.releases:
        if row.late:
            yield Alert(
                "GoliveReleaseLate",
                "critical",
                _entity(release=row.release),
                f"Release {row.release} missed its go-live date",
                f"Target {_day(row.target)}; {row.tasks.get('done', 0)} of "
                f"{sum(row.tasks.values())} tasks done.",
                "Decide now: reschedule the go-live (golive-release.updated) or cut scope; "
                "tell the stakeholders.",
                _release_path(row.release),
            )
        elif row.at_risk:
            yield Alert(
                "GoliveReleaseAtRisk",
                "warning",
                _entity(release=row.release),
                f"Release {row.release} will likely miss its go-live date",
                f"At the teams' recent throughput, 85 % of simulations finish by "
                f"{_day(row.forecast_p85)}, after the target {_day(row.target)} "
                f"(50 %: {_day(row.forecast_p50)}).",
                "Act before the date: cut or defer scope, add capacity to the late teams, "
                "or reschedule the go-live.",
                _release_path(row.release),
            )
        for objective in row.objectives:
            if objective.met is False:
                yield Alert(
                    "GoliveObjectiveOffTrack",
                    "warning",
                    _entity(release=row.release, objective=objective.objective),
                    f"Objective {objective.objective} of release {row.release} is off track",
                    f"{objective.kpi} is {objective.value:g}, which misses the objective.",
                    "Review the objective with the release manager: fix the cause (e.g. "
                    "pause risky deployments) or renegotiate the target.",
                    _release_path(row.release),
                )


def _teams(s: KpiSnapshot) -> Iterator[Alert]:
    for team in s.teams:
        if team.idle:
            yield Alert(
                "GoliveTeamIdle",
                "warning",
                _entity(team=team.team),
                f"Team {team.team} shows no activity",
                f"No activity for {_hours(team.quiet_business_seconds)} of business time "
                f"(threshold {_hours(team.idle_after_seconds)}) with {team.open_tasks} open "
                f"task(s); last activity {_day(team.last_activity)}.",
                "Check the team's blockers with its lead: waiting on another team, "
                "reassigned, or not reporting progress?",
                "/api/v1/teams",
            )


def _rollouts(s: KpiSnapshot, catalog: Catalog, now: datetime) -> Iterator[Alert]:
    for r in s.rollouts:
        owner = catalog.owner(r.service)
        policy = catalog.policy(owner)
        entity = _entity(service=r.service, environment=r.environment, team=owner)
        stuck_for = now - r.last_progress
        if r.outcome is None and stuck_for > policy.rollout_stuck_after:
            yield Alert(
                "GoliveRolloutStuck",
                "critical",
                entity,
                f"Rollout of {r.service} in {r.environment} is stuck",
                f"Rollout {r.rollout} to {r.to_version} has reported no progress for "
                f"{stuck_for.total_seconds() / 60:.0f} min (threshold "
                f"{policy.rollout_stuck_after.total_seconds() / 60:.0f} min).",
                "Check the deployment (events, failing health checks); pause it or roll back.",
                "/api/v1/rollouts",
            )
        budget = policy.rollout_downtime_budget.total_seconds()
        if r.downtime > budget:
            yield Alert(
                "GoliveRolloutDowntime",
                "critical",
                entity,
                f"Rollout of {r.service} in {r.environment} caused downtime",
                f"Rollout {r.rollout} to {r.to_version} had no ready instance for "
                f"{r.downtime:.1f} s (budget {budget:g} s).",
                "Pause the rollout; raise the minimum healthy percent or fix readiness "
                "probes before the next one; roll back if it persists.",
                "/api/v1/rollouts",
            )


def _failures(s: KpiSnapshot, catalog: Catalog) -> Iterator[Alert]:
    for failure in s.open_recoveries:
        owner = catalog.owner(failure.service)
        yield Alert(
            "GoliveDeploymentFailed",
            "critical",
            _entity(service=failure.service, environment=failure.environment, team=owner),
            f"Deployment of {failure.service} in {failure.environment} failed",
            f"A failure ({failure.cause}) since {_day(failure.started_at)} is not restored: "
            "no resolution, successful deployment or rollback yet.",
            "Roll back to the last good version or ship a fix; follow the incident.",
            "/api/v1/deployments",
        )
