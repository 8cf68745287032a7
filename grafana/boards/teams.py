"""Teams: who is active, who has gone quiet (idle in its own business time), and where
the open and overdue work sits."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.panels import (
    COUNT,
    GREEN,
    NEUTRAL,
    NONE_IS_GOOD,
    OVERDUE_STEPS,
    RED,
    SECONDS,
    SINCE,
    YELLOW,
    Column,
    Query,
    bar_gauge,
    dashboard,
    flag,
    label_variable,
    row,
    stat_panel,
    state_timeline,
    table_panel,
    thresholds,
    time_series,
)

T = 'team=~"$team"'
DAY = 86_400
QUIET_STEPS = thresholds(GREEN, (DAY, YELLOW), (3 * DAY, RED))
IDLE_NOTE = (
    "Idle: no activity for longer than the team's threshold, counted in the team's own "
    "business hours and days (catalog), so weekends and nights do not count."
)


def build() -> Dashboard:
    return (
        dashboard(
            "golive-teams",
            "golive / Teams",
            "Team activity from every event that names a team (tasks, tickets, changes, "
            "deployments): last activity, idle teams, open and overdue work.",
            time_from="now-7d",
        )
        .with_variable(
            label_variable(
                "team",
                "Team",
                "golive_team_idle",
                "Teams in the catalog or seen in events.",
                multi=True,
            )
        )
        .with_row(row("Now"))
        .with_panel(
            stat_panel(
                "Idle teams",
                "Teams idle now. " + IDLE_NOTE,
                Query(f"sum(golive_team_idle{{{T}}})", "idle"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Open tasks",
                "Open tasks of the selected teams in open releases: a count with no good or bad "
                "level of its own (overdue tasks have).",
                Query(f"sum(golive_team_open_tasks{{{T}}})", "open"),
                unit=COUNT,
                steps=NEUTRAL,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Overdue tasks",
                "Open tasks past their due date, every release.",
                Query(f"sum(golive_tasks_overdue{{{T}}})", "overdue"),
                unit=COUNT,
                steps=OVERDUE_STEPS,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Longest quiet",
                "Time since the least recently active team's last activity (calendar "
                "time; idle counts business time only).",
                Query(f"max(time() - golive_team_last_activity_timestamp_seconds{{{T}}})", "quiet"),
                unit=SECONDS,
                steps=QUIET_STEPS,
                width=6,
            )
        )
        .with_row(row("Per team"))
        .with_panel(
            table_panel(
                "Teams",
                "One row per team: last activity, idle (business time), open tasks and "
                "overdue tasks. Last activity and open tasks have no good or bad level of their "
                "own; idle and overdue are coloured.",
                Column(
                    Query(
                        f"golive_team_last_activity_timestamp_seconds{{{T}}} * 1000",
                        column="Last activity",
                    ),
                    SINCE,
                    NEUTRAL,
                ),
                Column(
                    Query(f"golive_team_idle{{{T}}}", column="Idle"),
                    COUNT,
                    NONE_IS_GOOD,
                    tuple(flag("Active", "Idle")),
                ),
                Column(
                    Query(f"golive_team_open_tasks{{{T}}}", column="Open tasks"),
                    COUNT,
                    NEUTRAL,
                ),
                Column(
                    Query(f"sum by (team) (golive_tasks_overdue{{{T}}})", column="Overdue"),
                    COUNT,
                    OVERDUE_STEPS,
                ),
                keys=("team",),
                width=12,
            )
        )
        .with_panel(
            bar_gauge(
                "Overdue tasks",
                "Open tasks past their due date, per team and release.",
                Query(f"golive_tasks_overdue{{{T}}}", "{{team}} ({{release}})"),
                unit=COUNT,
                steps=OVERDUE_STEPS,
                width=12,
            )
        )
        .with_panel(
            state_timeline(
                "Idle over time",
                "When each team was idle. " + IDLE_NOTE,
                Query(f"golive_team_idle{{{T}}}", "{{team}}"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
                mappings=flag("Active", "Idle"),
            )
        )
        .with_panel(
            time_series(
                "Time since last activity",
                "Calendar time since each team's latest activity: a saw-tooth for an active "
                "team, a climbing line for one gone quiet.",
                Query(f"time() - golive_team_last_activity_timestamp_seconds{{{T}}}", "{{team}}"),
                unit=SECONDS,
                steps=QUIET_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Open tasks",
                "Open tasks per team in open releases: the work each team still holds. "
                "It has no good or bad level of its own.",
                Query(f"golive_team_open_tasks{{{T}}}", "{{team}}"),
                unit=COUNT,
                steps=NEUTRAL,
            )
        )
    )
