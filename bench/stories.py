"""The stories the benchmark's stream is told in, as drafts of events.

Every random choice comes from a generator seeded by the story's own key, so a story
renders the same events every time it is told.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bench.mix import NOW, Draft, Mix, Story, service_name
from golive.demo.records import rfc3339


def _rng(mix: Mix, key: str) -> random.Random:
    return random.Random(f"{mix.seed}/{key}")


def _deployed(service: str, version: str, environment: str, time: datetime) -> Draft:
    source = f"/ecs/{environment}"
    content = {
        "environment": {"id": environment, "source": source},
        "artifactId": f"pkg:oci/{service}@{version}",
    }
    return Draft(time, "service.deployed", service, content, source, "binary")


def _shipment(mix: Mix, index: int, service: str, k: int, prod_at: datetime) -> list[Draft]:
    """Version 1.k.0 of `service`: change, CI, artifact, staging, rollout to prod."""
    rng = _rng(mix, f"ship/{service}/{k}")
    team = mix.owner(index)
    version, previous = f"1.{k}.0", f"1.{k - 1}.0" if k else None
    repo = f"acme/{service}"
    source = f"/github/{repo}"
    change = f"{repo}/pull/{k + 1}"
    staging_at = prod_at - timedelta(hours=rng.uniform(1, 30))
    merged_at = staging_at - timedelta(minutes=rng.uniform(30, 240))
    created_at = merged_at - timedelta(hours=rng.uniform(1, 72))
    ci_start = merged_at + timedelta(minutes=2)
    ci_end = ci_start + timedelta(minutes=rng.uniform(4, 20))
    run = f"{repo}/actions/runs/{k * 10 + 1}"
    repository = {"id": repo, "source": "https://github.com"}
    drafts = [
        Draft(
            created_at,
            "change.created",
            change,
            {"description": f"{service}: change {k + 1}", "repository": repository},
            source,
        ),
        Draft(merged_at, "change.merged", change, {"repository": repository}, source),
        Draft(
            ci_start,
            "pipelinerun.started",
            run,
            {"pipelineName": "build and push", "uri": f"https://github.com/{run}"},
            source,
            "structured",
            team,
        ),
        Draft(
            ci_end,
            "pipelinerun.finished",
            run,
            {"pipelineName": "build and push", "outcome": "success"},
            source,
            "structured",
            team,
        ),
        Draft(
            ci_end + timedelta(minutes=1),
            "artifact.packaged",
            f"pkg:oci/{service}@{version}",
            {"change": {"id": change, "source": source}},
            source,
        ),
        _deployed(service, version, "staging", staging_at),
    ]
    drafts += _rollout(rng, service, previous, version, prod_at)
    return drafts


def _rollout(
    rng: random.Random, service: str, previous: str | None, version: str, start: datetime
) -> list[Draft]:
    """Four instances replaced, 50 % must stay ready; some dip to zero (downtime)."""
    rollout = f"ecs-svc/{service}/{version}"
    drafts = [
        Draft(
            start,
            "golive-rollout.started",
            rollout,
            {
                "service": service,
                "environment": "prod",
                "fromVersion": previous,
                "toVersion": version,
                "desiredInstances": 4,
                "minHealthyPercent": 50,
            },
            "/ecs/prod",
        )
    ]
    time = start
    samples = rng.randint(3, 6)
    # Most updates roll one instance at a time; some drain the old instances before the
    # new ones are ready (no instance at all: downtime), some drop below 2 (degraded).
    trouble = rng.choices(["none", "outage", "degraded"], weights=[85, 7, 8])[0]
    for i in range(1, samples + 1):
        time += timedelta(seconds=rng.uniform(15, 90))
        ready_new = 4 * i // samples
        ready_old = 4 - ready_new
        if i == (samples + 1) // 2 and trouble != "none":
            ready_old, ready_new = 0, 0 if trouble == "outage" else 1
        drafts.append(
            Draft(
                time,
                "golive-rollout.progressed",
                rollout,
                {"readyOld": ready_old, "readyNew": ready_new},
                "/ecs/prod",
            )
        )
    roll = rng.random()
    outcome = "failed" if roll < 0.05 else "rolledback" if roll < 0.07 else "succeeded"
    finished = time + timedelta(seconds=rng.uniform(10, 60))
    drafts.append(
        Draft(finished, "golive-rollout.finished", rollout, {"outcome": outcome}, "/ecs/prod")
    )
    if outcome == "succeeded":
        drafts.append(_deployed(service, version, "prod", finished + timedelta(seconds=5)))
        if previous is not None and rng.random() < 0.04:
            drafts += _incident(rng, service, previous, version, finished)
    return drafts


def _incident(
    rng: random.Random, service: str, previous: str, bad: str, deployed_at: datetime
) -> list[Draft]:
    """Monitoring sees the new version fail; ECS rolls it back; the incident resolves."""
    incident = f"INC-{service}-{bad}"
    detected = deployed_at + timedelta(minutes=rng.uniform(5, 180))
    rolled_back = detected + timedelta(minutes=rng.uniform(5, 30))
    resolved = rolled_back + timedelta(minutes=rng.uniform(5, 60))
    refs = {"environment": {"id": "prod"}, "service": {"id": service}}
    return [
        Draft(
            detected,
            "incident.detected",
            incident,
            refs
            | {"description": "error rate above 5 %", "artifactId": f"pkg:oci/{service}@{bad}"},
            "/pagerduty",
        ),
        Draft(
            rolled_back,
            "service.rolledback",
            service,
            {
                "environment": {"id": "prod", "source": "/ecs/prod"},
                "artifactId": f"pkg:oci/{service}@{previous}",
            },
            "/ecs/prod",
            "binary",
        ),
        Draft(resolved, "incident.resolved", incident, refs, "/pagerduty"),
    ]


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    id: str
    planned: datetime
    target: datetime
    closed: bool
    services: tuple[str, ...]
    teams: tuple[str, ...]


def _release_plans(mix: Mix) -> list[ReleasePlan]:
    """Open releases planned in the last weeks (a few already late), closed ones older."""
    plans = []
    names = mix.service_names
    per_release = min(12, mix.services)
    total = mix.releases + mix.closed_releases
    for r in range(total):
        rng = _rng(mix, f"release/{r}")
        closed = r < mix.closed_releases
        if closed:
            planned = NOW - timedelta(days=mix.days) + timedelta(days=rng.uniform(0, mix.days / 2))
            target = planned + timedelta(days=rng.uniform(20, 35))
        else:
            planned = NOW - timedelta(days=rng.uniform(10, 45))
            target = NOW + timedelta(days=rng.uniform(-3, 30))
        first = (r * per_release) % mix.services
        indexes = [(first + i) % mix.services for i in range(per_release)]
        services = tuple(names[i] for i in indexes)
        teams = tuple(sorted({mix.owner(i) for i in indexes}))
        plans.append(ReleasePlan(f"REL-{r + 1:03d}", planned, target, closed, services, teams))
    return plans


OBJECTIVES = [
    {"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.15},
    {"id": "downtime", "kpi": "rollout_downtime_max", "op": "<=", "target": 5},
    {"id": "lead", "kpi": "lead_time_p90", "op": "<=", "target": 259200},
    {"id": "done", "kpi": "tasks_done_ratio", "op": ">=", "target": 0.95},
]


def _release(mix: Mix, plan: ReleasePlan) -> list[Draft]:
    rng = _rng(mix, f"release-events/{plan.id}")
    source = "/release-board"
    drafts = [
        Draft(
            plan.planned,
            "golive-release.planned",
            plan.id,
            {
                "name": f"Release {plan.id}",
                "targetDate": rfc3339(plan.target),
                "environment": "prod",
                "services": list(plan.services),
                "teams": list(plan.teams),
                "objectives": OBJECTIVES,
            },
            source,
        )
    ]
    if rng.random() < 0.3:  # rescheduled a week later, halfway through
        moved = plan.target + timedelta(days=7)
        drafts.append(
            Draft(
                plan.planned + (plan.target - plan.planned) / 2,
                "golive-release.updated",
                plan.id,
                {"targetDate": rfc3339(moved)},
                source,
            )
        )
    if plan.closed:
        drafts.append(
            Draft(plan.target, "golive-release.closed", plan.id, {"outcome": "completed"}, source)
        )
    return drafts


def _task(mix: Mix, plan: ReleasePlan, j: int) -> list[Draft]:
    """Scheduled, in progress (sometimes blocked), done: on the board or in Jira."""
    task = f"{plan.id}-T{j:05d}"
    rng = _rng(mix, f"task/{task}")
    team = rng.choice(plan.teams)
    owner = f"{team}-dev{rng.randint(1, 8)}"
    span = (plan.target - plan.planned).total_seconds()
    scheduled = plan.planned + timedelta(seconds=rng.uniform(0.02, 0.4) * span)
    due = scheduled + timedelta(seconds=rng.uniform(0.2, 0.9) * span)
    started = scheduled + timedelta(days=rng.uniform(0.2, 6))
    done = started + timedelta(days=rng.uniform(0.3, 8))
    kind = "corrective" if rng.random() < 0.1 else "plan"
    statuses: list[tuple[datetime, str]] = [(started, "in_progress")]
    if rng.random() < 0.1:
        blocked = started + (done - started) / 3
        statuses += [(blocked, "blocked"), (blocked + timedelta(hours=20), "in_progress")]
    statuses.append((done, "done"))
    if rng.random() < 0.3:  # Jira: `group` is the team, `milestone` the release
        key = f"ACME-{zlib.crc32(task.encode()) % 900000 + 100000}-{j}"
        ticket = {
            "summary": f"{team}: work item {j}",
            "ticketType": "bug" if kind == "corrective" else "task",
            "group": team,
            "assignees": [owner],
            "milestone": plan.id,
            "uri": f"https://acme.atlassian.net/browse/{key}",
        }
        drafts = [
            Draft(
                scheduled,
                "ticket.created",
                key,
                ticket | {"creator": owner},
                "/jira",
                custom={"dueDate": rfc3339(due), "kind": kind},
            )
        ]
        for when, status in statuses:
            name = "ticket.closed" if status == "done" else "ticket.updated"
            extra = {"resolution": "completed"} if status == "done" else {"updatedBy": owner}
            drafts.append(Draft(when, name, key, ticket | extra, "/jira"))
        return drafts
    drafts = [
        Draft(
            scheduled,
            "golive-task.scheduled",
            task,
            {
                "release": plan.id,
                "team": team,
                "title": f"work item {j}",
                "dueDate": rfc3339(due),
                "kind": kind,
                "owner": owner,
            },
            "/release-board",
        )
    ]
    for when, status in statuses:
        drafts.append(
            Draft(
                when,
                "golive-task.updated",
                task,
                {"status": status},
                "/release-board",
                "structured",
                team,
            )
        )
    return drafts


def ci_run(mix: Mix, n: int) -> list[Draft]:
    """A CI run on a branch: activity of the service's team, not interpreted."""
    rng = _rng(mix, f"ci/{n}")
    index = rng.randrange(mix.services)
    service = service_name(index)
    when = NOW - timedelta(seconds=rng.uniform(0, mix.days * 86400))
    run = f"acme/{service}/actions/runs/b{n}"
    predicate = "started" if n % 2 else "finished"
    content: dict[str, Any] = {"pipelineName": "branch checks", "uri": f"https://github.com/{run}"}
    if predicate == "finished":
        content["outcome"] = "success" if rng.random() < 0.85 else "failure"
    source = f"/github/acme/{service}"
    return [
        Draft(
            when, f"pipelinerun.{predicate}", run, content, source, "structured", mix.owner(index)
        )
    ]


def stories(mix: Mix) -> list[Story]:
    stories: list[Story] = []
    per_service = mix.shipments_per_service
    spacing = timedelta(days=mix.days) / per_service
    for index, service in enumerate(mix.service_names):
        rng = _rng(mix, f"cadence/{service}")
        offset = rng.uniform(0.1, 0.9)
        for k in range(per_service):
            # Regular cadence with jitter; versions reach prod in order.
            jitter = rng.uniform(-0.3, 0.3)
            prod_at = NOW - timedelta(days=mix.days) + spacing * (k + offset + jitter * 0.5)

            render = partial(_shipment, mix, index, service, k, prod_at)
            stories.append(Story(f"ship/{service}/{k}", render))
    for plan in _release_plans(mix):
        stories.append(Story(f"release/{plan.id}", partial(_release, mix, plan)))
        for j in range(mix.tasks_per_release):
            stories.append(Story(f"task/{plan.id}/{j}", partial(_task, mix, plan, j)))
    return stories
