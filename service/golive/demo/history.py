"""How the demo's history is told in events: tasks, tickets, shipments, an incident.

`History` turns the cast of `golive.demo.scenario` into events dated on the teams'
business days (each team's calendar from the demo catalog), all before today, so they
are produced at once when the demo starts.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from golive.contract.content import TaskKind
from golive.demo.records import Format, Recorder, rfc3339
from golive.domain.calendar import Calendar
from golive.domain.catalog import Catalog


@dataclass(frozen=True, slots=True)
class Task:
    """A task of the release; days are business days of the team's calendar."""

    id: str
    team: str
    title: str
    owner: str
    due: int  # business days from today: negative = in the past
    done: int | None = None  # done that many business days ago; None = still open
    started: int | None = None  # open, in progress since that many business days ago
    via: Literal["board", "jira"] = "board"  # golive-task events, or Jira tickets
    kind: TaskKind = "plan"
    scheduled: int | None = None  # business days ago; None = the day after planning


@dataclass(frozen=True, slots=True)
class Ship:
    """One version of a service on its way to prod (business days ago, owner's calendar)."""

    service: str
    version: str
    pull: int
    title: str
    created: int
    staging: int
    prod: int | None  # None: goes to prod in the live part


@dataclass(frozen=True, slots=True)
class Days:
    """Instants on a calendar's business days, counted from the local date of `now`."""

    now: datetime
    calendar: Calendar

    def ago(self, days: int, clock: str) -> datetime:
        """Local `clock` (HH:MM) on the `days`-th business day before today, in UTC."""
        return self._at(self.calendar.business_days_before(self.now, days)[0], clock)

    def ahead(self, days: int, clock: str) -> datetime:
        """Local `clock` on the `days`-th business day after today, in UTC."""
        day, found = self.calendar.local_date(self.now), 0
        while found < days:
            day += timedelta(days=1)
            found += self.calendar.is_business_day(day)
        return self._at(day, clock)

    def relative(self, days: int, clock: str) -> datetime:
        return self.ago(-days, clock) if days < 0 else self.ahead(days, clock)

    def _at(self, day: date, clock: str) -> datetime:
        local = datetime.combine(day, time.fromisoformat(clock), ZoneInfo(self.calendar.timezone))
        return local.astimezone(UTC)


def _clock(seed: str, start: str, spread_minutes: int) -> str:
    """A deterministic time of day in [start, start + spread): people are not clockwork."""
    hours, minutes = map(int, start.split(":"))
    offset = zlib.crc32(seed.encode()) % spread_minutes
    return f"{hours + (minutes + offset) // 60:02d}:{(minutes + offset) % 60:02d}"


class History:
    """The weeks before the demo starts, as events produced at once."""

    def __init__(
        self, recorder: Recorder, now: datetime, catalog: Catalog, release: str, *, planned: int
    ) -> None:
        self.rec = recorder
        self.now = now
        self.catalog = catalog
        self.release = release
        self.planned = planned  # business days ago (default calendar)

    def days(self, team: str | None = None) -> Days:
        """Business days in the team's calendar (the default calendar for no team)."""
        return Days(self.now, self.catalog.policy(team).calendar)

    def owner(self, service: str) -> str:
        owner = self.catalog.owner(service)
        if owner is None:
            raise ValueError(f"the demo catalog names no owner for service {service!r}")
        return owner

    # --- the release ---------------------------------------------------------------------

    def plan_release(self, content: dict[str, Any], target: datetime) -> None:
        self.rec.emit(
            "golive-release.planned",
            self.release,
            content | {"targetDate": rfc3339(target), "environment": "prod"},
            time=self.days().ago(self.planned, "09:30"),
            source="/release-board",
            label=f"release {self.release} planned: go-live {target:%a %d %b}",
        )

    def reschedule(self, days_ago: int, target: datetime) -> None:
        self.rec.emit(
            "golive-release.updated",
            self.release,
            {"targetDate": rfc3339(target)},
            time=self.days().ago(days_ago, "17:00"),
            source="/release-board",
            label=f"release {self.release} rescheduled: go-live {target:%a %d %b}",
        )

    # --- tasks: the release board (golive-task) and Jira (CDEvents tickets) --------------

    def schedule_tasks(self, tasks: Sequence[Task]) -> None:
        for index, task in enumerate(tasks):
            days = self.days(task.team)
            if task.scheduled is None:  # the day after planning, one after the other
                when = days.ago(self.planned - 1, f"10:{index:02d}")
            else:
                when = days.ago(task.scheduled, "16:00")
            label = f"{task.team} schedules {task.id} ({task.kind}): {task.title}"
            if task.via == "jira":
                self._ticket("ticket.created", task, when, label, {"creator": task.owner})
                continue
            content = {
                "release": self.release,
                "team": task.team,
                "title": task.title,
                "dueDate": rfc3339(days.relative(task.due, "17:00")),
                "kind": task.kind,
                "owner": task.owner,
            }
            self.rec.emit(
                "golive-task.scheduled",
                task.id,
                content,
                time=when,
                source="/release-board",
                label=label,
            )

    def work_on_tasks(self, tasks: Sequence[Task]) -> None:
        """Tasks move to in progress, then to done, at the teams' pace."""
        for task in tasks:
            days = self.days(task.team)
            started = task.started
            if task.done is not None:
                scheduled = self.planned - 1 if task.scheduled is None else task.scheduled
                started = min(task.done + 2, scheduled - 1)
            if started is not None:
                self._status(task, "in_progress", days.ago(started, _clock(task.id, "09:30", 60)))
            if task.done is not None:
                self._status(task, "done", days.ago(task.done, _clock(task.id, "15:00", 120)))

    def _status(self, task: Task, status: str, when: datetime) -> None:
        label = f"{task.team}: {task.id} {status.replace('_', ' ')} ({task.title})"
        if task.via == "jira":
            if status == "done":
                self._ticket("ticket.closed", task, when, label, {"resolution": "completed"})
            else:
                self._ticket("ticket.updated", task, when, label, {"updatedBy": task.owner})
            return
        # The release board speaks CloudEvents, with the team as an extension attribute.
        self.rec.emit(
            "golive-task.updated",
            task.id,
            {"status": status},
            time=when,
            source="/release-board",
            label=label,
            fmt=Format.STRUCTURED,
            team=task.team,
        )

    def _ticket(
        self, name: str, task: Task, when: datetime, label: str, extra: dict[str, Any]
    ) -> None:
        """A Jira ticket: `group` is the team, `milestone` the release; golive reads the due
        date and the kind from `customData`."""
        content = {
            "summary": task.title,
            "ticketType": "bug" if task.kind == "corrective" else "task",
            "group": task.team,
            "assignees": [task.owner],
            "milestone": self.release,
            "uri": f"https://acme.atlassian.net/browse/{task.id}",
            **extra,
        }
        custom = None
        if name == "ticket.created":
            due = self.days(task.team).relative(task.due, "17:00")
            custom = {"dueDate": rfc3339(due), "kind": task.kind}
        self.rec.emit(
            name, task.id, content, time=when, source="/jira", label=label, custom_data=custom
        )

    # --- delivery: change, CI, artifact, staging, prod ----------------------------------

    def ship(self, ship: Ship, *, legacy: bool = False) -> None:
        """What lead time is measured on. `legacy`: CI and CD speak CDEvents 0.4.1."""
        team = self.owner(ship.service)
        days = self.days(team)
        repo = f"acme/{ship.service}"
        source = f"/github/{repo}"
        change = f"{repo}/pull/{ship.pull}"
        repository = {"id": repo, "source": "https://github.com"}
        self.rec.emit(
            "change.created",
            change,
            {"description": ship.title, "repository": repository},
            time=days.ago(ship.created, "16:30"),
            source=source,
            label=f"{team} opens {change}: {ship.title}",
        )
        self.rec.emit(
            "change.merged",
            change,
            {"repository": repository},
            time=days.ago(ship.staging, "09:40"),
            source=source,
            label=f"{change} merged",
        )
        self._ci(ship, team, days.ago(ship.staging, "10:05"), legacy=legacy)
        self.rec.emit(
            "artifact.packaged",
            f"pkg:oci/{ship.service}@{ship.version}",
            {"change": {"id": change, "source": source}},
            time=days.ago(ship.staging, "10:06"),
            source=source,
            label=f"{ship.service} {ship.version} packaged",
        )
        self.deploy(ship.service, ship.version, "staging", days.ago(ship.staging, "10:30"), legacy)
        if ship.prod is not None:
            self.deploy(ship.service, ship.version, "prod", days.ago(ship.prod, "14:00"), legacy)

    def _ci(self, ship: Ship, team: str, when: datetime, *, legacy: bool) -> None:
        """The CI run: CloudEvents with the `team` extension, or a CDEvent 0.4.1 (Jenkins)."""
        if legacy:
            run = f"jenkins/{ship.service}/{ship.pull}"
            content = {"pipelineName": f"build {ship.service}", "url": f"https://ci.acme.dev/{run}"}
            fmt, source, team_ext = Format.CDEVENT_V04, f"/jenkins/{ship.service}", None
        else:
            run = f"acme/{ship.service}/actions/runs/{ship.pull * 10 + 1}"
            content = {"pipelineName": "build and push", "uri": f"https://github.com/{run}"}
            fmt, source, team_ext = Format.STRUCTURED, f"/github/acme/{ship.service}", team
        self.rec.emit(
            "pipelinerun.finished",
            run,
            content | {"outcome": "success"},
            time=when,
            source=source,
            label=f"{team}: CI of {ship.service} {ship.version} passed",
            fmt=fmt,
            team=team_ext,
        )

    def deploy(
        self, service: str, version: str, environment: str, when: datetime, legacy: bool = False
    ) -> None:
        """ECS reports deployments in CloudEvents binary mode; Spinnaker in CDEvents 0.4.1."""
        source = f"/spinnaker/{service}" if legacy else f"/ecs/{environment}"
        self.rec.emit(
            "service.deployed",
            service,
            {
                "environment": {"id": environment, "source": source},
                "artifactId": f"pkg:oci/{service}@{version}",
            },
            time=when,
            source=source,
            label=f"{service} {version} deployed to {environment}",
            fmt=Format.CDEVENT_V04 if legacy else Format.BINARY,
        )

    # --- a failed deployment ------------------------------------------------------------

    def incident(
        self,
        incident: str,
        service: str,
        *,
        days_ago: int,
        times: tuple[str, str, str],  # detected, rolled back, resolved (local HH:MM)
        bad: str,
        restored: str,
        description: str,
    ) -> None:
        """Monitoring detects an incident on a fresh deployment; ECS rolls the service back
        to `restored`; the incident is resolved once the error rate is back to normal."""
        days = self.days(self.owner(service))
        detected, rolled_back, resolved = (days.ago(days_ago, t) for t in times)
        refs = {"environment": {"id": "prod"}, "service": {"id": service}}
        self.rec.emit(
            "incident.detected",
            incident,
            refs | {"description": description, "artifactId": f"pkg:oci/{service}@{bad}"},
            time=detected,
            source="/pagerduty",
            label=f"{incident} detected: {description}",
        )
        self.rec.emit(
            "service.rolledback",
            service,
            {
                "environment": {"id": "prod", "source": "/ecs/prod"},
                "artifactId": f"pkg:oci/{service}@{restored}",
            },
            time=rolled_back,
            source="/ecs/prod",
            label=f"{service} rolled back to {restored} in prod",
            fmt=Format.BINARY,
        )
        self.rec.emit(
            "incident.resolved",
            incident,
            refs | {"description": "error rate back to normal after the rollback"},
            time=resolved,
            source="/pagerduty",
            label=f"{incident} resolved",
        )
