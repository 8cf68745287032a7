"""Release overview: is the release going to make its go-live date, and what stands in
the way (objectives, overdue tasks, alerts)? One release at a time ($release)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.panels import (
    COUNT,
    DATE,
    DAYS,
    GREEN,
    NEUTRAL,
    NONE_IS_GOOD,
    ORANGE,
    OVERDUE_STEPS,
    RATIO,
    RED,
    YELLOW,
    Column,
    Query,
    bar_gauge,
    dashboard,
    flag,
    label_variable,
    row,
    stat_panel,
    table_panel,
    thresholds,
    time_series,
)

R = 'release="$release"'
# Days from the target to each forecast quantile: above 0, the forecast is late.
SLIP_DAYS = (
    f"(golive_release_forecast_timestamp_seconds{{{R}}}"
    f" - ignoring(quantile) group_left golive_release_target_timestamp_seconds{{{R}}}) / 86400"
)
SLIP_STEPS = thresholds(GREEN, (0.001, ORANGE), (2, RED))
PROGRESS = thresholds(RED, (0.5, ORANGE), (0.8, YELLOW), (1, GREEN))


def build() -> Dashboard:
    return (
        dashboard(
            "golive-release",
            "golive / Release overview",
            "Progress of a release towards its go-live date: the Monte Carlo forecast "
            "against the target, the risk, the objectives, overdue tasks and golive's alerts.",
            time_from="now-30d",
        )
        .with_variable(
            label_variable(
                "release",
                "Release",
                "golive_release_progress_ratio",
                "Open releases (with at least one task).",
            )
        )
        .with_row(row("Where the release stands"))
        .with_panel(
            stat_panel(
                "Progress",
                "Tasks done / tasks of the release.",
                Query(f"golive_release_progress_ratio{{{R}}}", "progress"),
                unit=RATIO,
                steps=PROGRESS,
            )
        )
        .with_panel(
            stat_panel(
                "Days to go-live",
                "Days from now to the release's go-live date, as last planned or "
                "rescheduled: orange in the last two days, red once it has passed (the "
                "release is open: work is left).",
                Query(f"(golive_release_target_timestamp_seconds{{{R}}} - time()) / 86400", "days"),
                unit=DAYS,
                steps=thresholds(RED, (0, ORANGE), (2, GREEN)),
            )
        )
        .with_panel(
            stat_panel(
                "Forecast vs target",
                "Days between the Monte Carlo completion forecast and the target date: "
                "half of the simulations finish by P50, 85 % by P85. Above 0 the forecast "
                "is after the target; P85 above 0 is what golive calls at risk. Empty "
                "without throughput history.",
                Query(SLIP_DAYS, "P{{quantile}}"),
                unit=DAYS,
                steps=SLIP_STEPS,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Forecast completion (P85)",
                "The date by which 85 % of the simulations finish. A date has no good or "
                "bad value of its own: compare it with the target (previous panel).",
                Query(
                    f'golive_release_forecast_timestamp_seconds{{{R},quantile="0.85"}} * 1000',
                    "P85",
                ),
                unit=DATE,
                steps=NEUTRAL,
            )
        )
        .with_panel(
            stat_panel(
                "At risk",
                "1 when the P85 forecast is after the target date (golive alerts on it).",
                Query(f"golive_release_at_risk{{{R}}}", "at risk"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
                mappings=flag("On track", "At risk"),
                width=3,
            )
        )
        .with_panel(
            stat_panel(
                "Late",
                "1 when the target date has passed with work left.",
                Query(f"golive_release_late{{{R}}}", "late"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
                mappings=flag("No", "Late"),
                width=3,
            )
        )
        .with_row(row("Work"))
        .with_panel(
            time_series(
                "Progress over time",
                "Tasks done / tasks, as golive saw it at each moment.",
                Query(f"golive_release_progress_ratio{{{R}}}", "progress"),
                unit=RATIO,
                steps=PROGRESS,
                width=12,
            )
        )
        .with_panel(
            time_series(
                "Tasks by status",
                "The release's tasks by status (todo, in_progress, blocked, done), stacked. "
                "Counts with no good or bad level of their own: progress is above.",
                Query(f"golive_release_tasks{{{R}}}", "{{status}}"),
                unit=COUNT,
                steps=NEUTRAL,
                stacked=True,
                width=12,
            )
        )
        .with_panel(
            bar_gauge(
                "Overdue tasks by team",
                "Open tasks past their due date, per team. Each one is worth a look "
                "before go-live.",
                Query(f"golive_tasks_overdue{{{R}}}", "{{team}}"),
                unit=COUNT,
                steps=OVERDUE_STEPS,
                width=8,
            )
        )
        .with_panel(
            table_panel(
                "Objectives",
                "The release's objectives (catalog): met (1) or not (0), and the value of "
                "the KPI each one checks (seconds, ratios or counts, as the KPI is). Absent "
                "while the KPI has no data.",
                Column(
                    Query(f"max by (objective) (golive_objective_met{{{R}}})", column="Met"),
                    COUNT,
                    thresholds(RED, (1, GREEN)),
                    tuple(flag("Not met", "Met", good=1)),
                ),
                Column(
                    # One KPI per objective: `max by` drops the kpi label to join on.
                    Query(f"max by (objective) (golive_objective_value{{{R}}})", column="Value"),
                    "none",
                    NEUTRAL,
                ),
                keys=("objective",),
                width=16,
            )
        )
        .with_row(row("Alerts"))
        .with_panel(
            bar_gauge(
                "golive alerts firing",
                "golive's own alerts (release at risk, late, overdue tasks, idle teams, "
                "rollout downtime...): how many of each fire now. The Alertmanager "
                "routes them; this panel shows them without it.",
                Query(
                    "sum by (alertname, severity) (golive_alerts_firing)",
                    "{{alertname}} ({{severity}})",
                ),
                unit=COUNT,
                steps=NONE_IS_GOOD,
                width=24,
            )
        )
    )
