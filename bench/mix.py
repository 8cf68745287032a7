"""The shape of the benchmark's production: how many events, services, teams and
releases, who owns what, and one event before it is put on the wire."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from golive.domain.catalog import Catalog, parse_catalog

# A Wednesday afternoon: the benchmark's "now", when the leader refreshes its snapshot.
NOW = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)

# Expected events per story (used to size the mix; the exact count is then measured).
EVENTS_PER_SHIPMENT = 13.5
EVENTS_PER_TASK = 3.1

Format = Literal["plain", "structured", "binary"]


def service_name(index: int) -> str:
    return f"svc-{index:03d}"


@dataclass(frozen=True, slots=True)
class Mix:
    """What the stream is made of. Shares are of `events`; CI runs fill the remainder."""

    events: int = 1_000_000
    services: int = 500
    teams: int = 50
    releases: int = 20  # open at `NOW`
    closed_releases: int = 20  # planned and completed before `NOW`
    days: int = 90  # history before `NOW`
    shipment_share: float = 0.72
    task_share: float = 0.12
    seed: int = 20261104

    @property
    def service_names(self) -> list[str]:
        return [service_name(i) for i in range(self.services)]

    @property
    def team_names(self) -> list[str]:
        return [f"team-{i:02d}" for i in range(self.teams)]

    def owner(self, service_index: int) -> str:
        return f"team-{service_index % self.teams:02d}"

    @property
    def shipments_per_service(self) -> int:
        budget = self.events * self.shipment_share / EVENTS_PER_SHIPMENT
        return max(1, round(budget / self.services))

    @property
    def tasks_per_release(self) -> int:
        budget = self.events * self.task_share / EVENTS_PER_TASK
        return max(1, round(budget / (self.releases + self.closed_releases)))


def catalog_of(mix: Mix) -> Catalog:
    """Every team, and the owner of every service (round robin)."""
    return parse_catalog(
        {
            "teams": {team: {} for team in mix.team_names},
            "services": {
                service: {"team": mix.owner(i)} for i, service in enumerate(mix.service_names)
            },
        }
    )


@dataclass(frozen=True, slots=True)
class Draft:
    """One event before it is put on the wire."""

    time: datetime
    name: str  # subject.predicate
    subject: str
    content: dict[str, Any]
    source: str
    fmt: Format = "plain"
    team: str | None = None  # CloudEvents `team` extension (structured / binary only)
    custom: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """A unit of the stream (a shipment, a task, a release, a CI run) and how to tell it."""

    key: str
    render: Callable[[], list[Draft]] = field(compare=False)
