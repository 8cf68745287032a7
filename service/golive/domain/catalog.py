"""The catalog: teams, their calendars and thresholds, and which team owns which service.

Parsed from a plain mapping (the TOML file is read elsewhere) so this stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from golive.domain.calendar import Calendar, parse_clock, parse_workdays

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CatalogError(ValueError):
    """A catalog value golive cannot use; the message names the key."""


def parse_duration(text: str) -> timedelta:
    """`"4h"`, `"30m"`, `"1h30m"`, `"5s"`, `"250ms"` -> timedelta (Prometheus-style units)."""
    compact = text.strip()
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(compact):
        if match.start() != pos:
            break
        total += float(match[1]) * _UNITS[match[2]]
        pos = match.end()
    if not compact or pos != len(compact):
        raise ValueError(f"{text!r} is not a duration (examples: 5s, 30m, 4h, 1h30m, 2d)")
    return timedelta(seconds=total)


@dataclass(frozen=True, slots=True)
class Policy:
    """What golive expects of a team: its business calendar and its alert thresholds."""

    calendar: Calendar = field(default_factory=Calendar)
    idle_after: timedelta = timedelta(hours=4)
    rollout_downtime_budget: timedelta = timedelta(seconds=5)
    rollout_stuck_after: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Catalog:
    defaults: Policy = field(default_factory=Policy)
    teams: Mapping[str, Policy] = field(default_factory=dict)
    service_owners: Mapping[str, str] = field(default_factory=dict)
    # What orchestrator events do not say (`domain.ecs`): the environment of an ECS
    # cluster (by cluster name; default: the name itself), and the share of a service's
    # instances that must stay ready during a rollout (default 100 %).
    ecs_environments: Mapping[str, str] = field(default_factory=dict)
    min_healthy_percent: Mapping[str, float] = field(default_factory=dict)

    def policy(self, team: str | None) -> Policy:
        """The team's policy, or the defaults for a team the catalog does not name."""
        if team is None:
            return self.defaults
        return self.teams.get(team, self.defaults)

    def owner(self, service: str | None) -> str | None:
        return None if service is None else self.service_owners.get(service)

    def ecs_environment(self, cluster: str) -> str:
        return self.ecs_environments.get(cluster, cluster)

    def min_healthy(self, service: str) -> float:
        return self.min_healthy_percent.get(service, 100.0)


EMPTY_CATALOG = Catalog()

_POLICY_KEYS = {
    "timezone",
    "workdays",
    "workhours",
    "holidays",
    "idle_after",
    "rollout_downtime_budget",
    "rollout_stuck_after",
}


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build a catalog from its TOML mapping; raise `CatalogError` naming the bad key."""
    unknown = set(data) - {"defaults", "teams", "services", "ecs"}
    if unknown:
        raise CatalogError(f"unknown catalog section(s): {', '.join(sorted(unknown))}")
    defaults = _policy(Policy(), _table(data, "defaults"), "defaults")
    teams = {
        name: _policy(defaults, _table(table, None, f"teams.{name}"), f"teams.{name}")
        for name, table in _table(data, "teams").items()
    }
    owners: dict[str, str] = {}
    min_healthy: dict[str, float] = {}
    for service, table in _table(data, "services").items():
        entry = _table(table, None, f"services.{service}")
        unknown_keys = set(entry) - {"team", "min_healthy_percent"}
        if unknown_keys:
            keys = ", ".join(sorted(unknown_keys))
            raise CatalogError(f"services.{service}: unknown key(s) {keys}")
        team = entry.get("team")
        if team is not None:
            if not isinstance(team, str) or not team:
                raise CatalogError(f"services.{service}.team must be a team name")
            owners[service] = team
        if "min_healthy_percent" in entry:
            percent = entry["min_healthy_percent"]
            if not isinstance(percent, int | float) or isinstance(percent, bool):
                raise CatalogError(f"services.{service}.min_healthy_percent must be a number")
            if not 0 <= percent <= 100:
                raise CatalogError(f"services.{service}.min_healthy_percent must be 0 to 100")
            min_healthy[service] = float(percent)
    return Catalog(
        defaults=defaults,
        teams=teams,
        service_owners=owners,
        ecs_environments=_ecs_environments(_table(data, "ecs")),
        min_healthy_percent=min_healthy,
    )


def _ecs_environments(ecs: Mapping[str, Any]) -> dict[str, str]:
    unknown = set(ecs) - {"clusters"}
    if unknown:
        raise CatalogError(f"ecs: unknown key(s) {', '.join(sorted(unknown))}")
    clusters = _table(ecs, "clusters", "ecs.clusters")
    for cluster, environment in clusters.items():
        if not isinstance(environment, str) or not environment:
            raise CatalogError(f"ecs.clusters.{cluster} must be an environment name")
    return dict(clusters)


def _table(data: Any, key: str | None, where: str | None = None) -> Mapping[str, Any]:
    value = data.get(key, {}) if key is not None else data
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where or key} must be a table")
    return value


def _policy(base: Policy, table: Mapping[str, Any], where: str) -> Policy:
    unknown = set(table) - _POLICY_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        calendar = base.calendar
        if "timezone" in table:
            calendar = replace(calendar, timezone=str(table["timezone"]))
        if "workdays" in table:
            calendar = replace(calendar, workdays=parse_workdays(table["workdays"]))
        if "workhours" in table:
            start, end = table["workhours"]
            calendar = replace(calendar, workhours=(parse_clock(start), parse_clock(end)))
        if "holidays" in table:
            calendar = replace(calendar, holidays=frozenset(_date(d) for d in table["holidays"]))
        durations = {
            key: parse_duration(str(table[key]))
            for key in ("idle_after", "rollout_downtime_budget", "rollout_stuck_after")
            if key in table
        }
    except (ValueError, TypeError) as err:
        raise CatalogError(f"{where}: {err}") from None
    return replace(base, calendar=calendar, **durations)


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
