"""Rollouts: what each production rollout costs in availability (downtime: no ready
instance; degraded: below the minimum healthy instances), how long rollouts take, and
which deployments failed."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.panels import (
    BLUE,
    COUNT,
    GREEN,
    NEUTRAL,
    NONE_IS_GOOD,
    ORANGE,
    RATIO,
    RED,
    SECONDS,
    YELLOW,
    Column,
    Query,
    bar_gauge,
    dashboard,
    label_variable,
    row,
    stat_panel,
    table_panel,
    thresholds,
    time_series,
)

SE = 'service=~"$service",environment=~"$environment"'
BY = "{{service}} / {{environment}}"
PER_ROLLOUT = "{{service}} {{version}} ({{rollout}})"
# Downtime: any second is visible to users. The budget of a release's objective is
# often a few seconds (the demo's is 5 s): orange from 1 s, red from 5 s.
DOWNTIME_STEPS = thresholds(GREEN, (1, ORANGE), (5, RED))
DEGRADED_STEPS = thresholds(GREEN, (30, YELLOW), (300, RED))
DURATION_STEPS = thresholds(GREEN, (600, YELLOW), (1_800, RED))
LATEST_NOTE = (
    " Latest rollout of each service and environment, in progress or finished in the "
    "last 24 h; each rollout is its own series (id and version in the legend)."
)


def _latest(metric: str) -> str:
    """A latest-rollout gauge with its outcome as a label, so table rows join on it."""
    return (
        f"{metric}{{{SE}}}"
        " * on(service, environment, rollout, version) group_left(outcome)"
        f" golive_rollout_latest_outcome{{{SE}}}"
    )


def build() -> Dashboard:
    return (
        dashboard(
            "golive-rollouts",
            "golive / Rollouts",
            "Production rollouts measured from readiness reports (golive-rollout events, "
            "Kubernetes, ECS): in progress, duration, downtime and degraded time per "
            "rollout, and failed deployments.",
            time_from="now-24h",
        )
        .with_variable(
            label_variable(
                "service",
                "Service",
                "golive_rollout_duration_seconds_count",
                "Services with finished rollouts.",
                multi=True,
            )
        )
        .with_variable(
            label_variable(
                "environment",
                "Environment",
                "golive_rollout_duration_seconds_count",
                "Environments with finished rollouts.",
                multi=True,
            )
        )
        .with_row(row("Now"))
        .with_panel(
            stat_panel(
                "Rollouts in progress",
                "Rollouts started and not finished, every service. One stuck for long is "
                "worth a look (golive alerts on stalled rollouts).",
                Query("golive_rollouts_in_progress", "in progress"),
                unit=COUNT,
                steps=thresholds(GREEN, (1, BLUE), (5, ORANGE)),
            )
        )
        .with_panel(
            stat_panel(
                "Rollouts with downtime",
                "Share of finished rollouts (all time) that left the service with no ready "
                "instance for any time. The goal is 0 %.",
                Query(
                    f'1 - sum(golive_rollout_downtime_seconds_bucket{{{SE},le="0"}})'
                    f" / sum(golive_rollout_downtime_seconds_count{{{SE}}})",
                    "with downtime",
                ),
                unit=RATIO,
                steps=thresholds(GREEN, (0.001, ORANGE), (0.05, RED)),
            )
        )
        .with_panel(
            stat_panel(
                "Downtime, all rollouts",
                "Seconds with no ready instance, summed over every finished rollout of the "
                "selected services (all time).",
                Query(f"sum(golive_rollout_downtime_seconds_sum{{{SE}}})", "downtime"),
                unit=SECONDS,
                steps=DOWNTIME_STEPS,
            )
        )
        .with_panel(
            stat_panel(
                "Failed deployments",
                "Deployments whose rollout failed or was rolled back, in the time range.",
                Query(
                    f'sum(increase(golive_deployments_total{{{SE},outcome="failed"}}[$__range]))',
                    "failed",
                ),
                unit=COUNT,
                steps=NONE_IS_GOOD,
            )
        )
        .with_panel(
            stat_panel(
                "Rollout duration P90",
                "90 % of finished rollouts of the selected services took less (all time).",
                Query(
                    "histogram_quantile(0.9, sum by (le)"
                    f" (golive_rollout_duration_seconds_bucket{{{SE}}}))",
                    "P90",
                ),
                unit=SECONDS,
                steps=DURATION_STEPS,
                width=8,
            )
        )
        .with_row(row("Per rollout"))
        .with_panel(
            table_panel(
                "Latest rollouts",
                "Duration, downtime and degraded time of the latest rollout of each "
                "service and environment, with its outcome (in_progress, succeeded, "
                "failed, rolledback). Values so far for one in progress." + LATEST_NOTE,
                Column(
                    Query(_latest("golive_rollout_latest_duration_seconds"), column="Duration"),
                    SECONDS,
                    DURATION_STEPS,
                ),
                Column(
                    Query(_latest("golive_rollout_latest_downtime_seconds"), column="Downtime"),
                    SECONDS,
                    DOWNTIME_STEPS,
                ),
                Column(
                    Query(_latest("golive_rollout_latest_degraded_seconds"), column="Degraded"),
                    SECONDS,
                    DEGRADED_STEPS,
                ),
                keys=("service", "environment", "version", "rollout", "outcome"),
            )
        )
        .with_panel(
            time_series(
                "Downtime per rollout",
                "Seconds with no ready instance, as each rollout went." + LATEST_NOTE,
                Query(f"golive_rollout_latest_downtime_seconds{{{SE}}}", PER_ROLLOUT),
                unit=SECONDS,
                steps=DOWNTIME_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Degraded time per rollout",
                "Seconds below the minimum healthy instances (the rollout's "
                "minHealthyPercent), as each rollout went." + LATEST_NOTE,
                Query(f"golive_rollout_latest_degraded_seconds{{{SE}}}", PER_ROLLOUT),
                unit=SECONDS,
                steps=DEGRADED_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Duration per rollout",
                "Time from the rollout's start to its finish (so far while in progress)."
                + LATEST_NOTE,
                Query(f"golive_rollout_latest_duration_seconds{{{SE}}}", PER_ROLLOUT),
                unit=SECONDS,
                steps=DURATION_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Rollouts finished",
                "Rollouts that finished in each interval, per service and environment. A count "
                "with no good or bad level of its own.",
                Query(
                    "sum by (service, environment)"
                    f" (increase(golive_rollout_duration_seconds_count{{{SE}}}[$__rate_interval]))",
                    BY,
                ),
                unit=COUNT,
                steps=NEUTRAL,
                bars=True,
            )
        )
        .with_row(row("Per service (all finished rollouts)"))
        .with_panel(
            bar_gauge(
                "Downtime P90 per rollout",
                "90 % of each service's rollouts had less downtime than this.",
                Query(
                    "histogram_quantile(0.9, sum by (service, environment, le)"
                    f" (golive_rollout_downtime_seconds_bucket{{{SE}}}))",
                    BY,
                ),
                unit=SECONDS,
                steps=DOWNTIME_STEPS,
            )
        )
        .with_panel(
            bar_gauge(
                "Mean degraded time per rollout",
                "Time below the minimum healthy instances, averaged over each service's "
                "finished rollouts.",
                Query(
                    f"sum by (service, environment) (golive_rollout_degraded_seconds_sum{{{SE}}})"
                    " / sum by (service, environment)"
                    f" (golive_rollout_degraded_seconds_count{{{SE}}})",
                    BY,
                ),
                unit=SECONDS,
                steps=DEGRADED_STEPS,
            )
        )
        .with_panel(
            bar_gauge(
                "Failed deployments",
                "Deployments whose rollout failed or was rolled back (all time).",
                Query(
                    "sum by (service, environment)"
                    f' (golive_deployments_total{{{SE},outcome="failed"}})',
                    BY,
                ),
                unit=COUNT,
                steps=NONE_IS_GOOD,
            )
        )
    )
