"""golive's five dashboards, by file name under grafana/dashboards/."""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.boards import dora, health, release, rollouts, teams

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "release-overview.json": release.build,
    "dora.json": dora.build,
    "rollouts.json": rollouts.build,
    "teams.json": teams.build,
    "golive-health.json": health.build,
}
