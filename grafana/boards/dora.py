"""DORA: the four keys per service and environment, coloured by the DORA performance
bands, over a 7- or 30-day window ($window)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.panels import (
    COUNT,
    GREEN,
    NEUTRAL,
    ORANGE,
    PER_DAY,
    RATIO,
    RED,
    SECONDS,
    YELLOW,
    Column,
    Query,
    bar_gauge,
    choice_variable,
    dashboard,
    label_variable,
    row,
    stat_panel,
    table_panel,
    thresholds,
    time_series,
)

# The performance bands of the 2023 Accelerate State of DevOps report (DORA): elite in
# green, high in yellow, medium in orange, low in red. Each step starts at its value.
DAY, WEEK, MONTH = 86_400, 7 * 86_400, 30 * 86_400
FREQUENCY_BANDS = thresholds(RED, (1 / 30, ORANGE), (1 / 7, YELLOW), (1, GREEN))
LEAD_TIME_BANDS = thresholds(GREEN, (DAY, YELLOW), (WEEK, ORANGE), (MONTH, RED))
FAILURE_BANDS = thresholds(GREEN, (0.05, YELLOW), (0.10, ORANGE), (0.15, RED))
RECOVERY_BANDS = thresholds(GREEN, (3_600, YELLOW), (DAY, ORANGE), (WEEK, RED))
# DORA publishes no bands for rework: golive's defaults.
REWORK_STEPS = thresholds(GREEN, (0.10, ORANGE), (0.20, RED))

BANDS_NOTE = " Colours: the DORA 2023 bands, elite green, high yellow, medium orange, low red."
FREQUENCY_NOTE = (
    "Deployments per day over the window. Elite: on demand (1/day or more); high: between "
    "once a day and once a week; medium: between once a week and once a month; low: less."
)
LEAD_NOTE = (
    "Lead time for changes shipped in the window, from the change's creation (else its "
    "merge) to the first deployment of an artifact that carries it. Elite: under a day; "
    "high: under a week; medium: under a month; low: more."
)
FAILURE_NOTE = (
    "Failed deployments (the rollout failed, was rolled back, or an incident followed) "
    "over deployments in the window. Elite: up to 5 %; high: 10 %; medium: 15 %; low: "
    "more. Absent without deployments."
)
RECOVERY_NOTE = (
    "Failed-deployment recovery time, for recoveries in the window: from the failure to "
    "the service restored. Elite: under an hour; high: under a day; medium: under a week; "
    "low: more."
)
REWORK_NOTE = (
    "Deployments made while a recovery is open (to repair a failure) over deployments. "
    "DORA gives no bands: green under 10 %, orange under 20 %, red above."
)

S = 'service=~"$service",environment=~"$environment",window="$window"'
BY = "{{service}} / {{environment}}"


def build() -> Dashboard:
    return (
        dashboard(
            "golive-dora",
            "golive / DORA",
            "The four keys (deployment frequency, lead time for changes, change failure "
            "ratio, failed-deployment recovery time) and the rework ratio, per service "
            "and environment, computed by golive from CDEvents.",
            time_from="now-30d",
        )
        .with_variable(
            label_variable(
                "service",
                "Service",
                "golive_dora_deployment_frequency_per_day",
                "Services with deployments.",
                multi=True,
            )
        )
        .with_variable(
            label_variable(
                "environment",
                "Environment",
                "golive_dora_deployment_frequency_per_day",
                "Environments deployed to.",
                multi=True,
            )
        )
        .with_variable(
            choice_variable(
                "window", "Window", ("7d", "30d"), "30d", "The window each key is computed over."
            )
        )
        .with_row(row("All selected services"))
        .with_panel(
            stat_panel(
                "Deployments per day",
                "All selected services and environments together. " + FREQUENCY_NOTE,
                Query(f"sum(golive_dora_deployment_frequency_per_day{{{S}}})", "deployments"),
                unit=PER_DAY,
                steps=FREQUENCY_BANDS,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Change failure ratio",
                "Failed / deployments over every selected service (weighted by "
                "deployments, not an average of ratios). " + FAILURE_NOTE,
                Query(
                    f"sum(golive_dora_change_failure_ratio{{{S}}}"
                    f" * golive_dora_deployment_frequency_per_day{{{S}}})"
                    f" / sum(golive_dora_deployment_frequency_per_day{{{S}}})",
                    "failure ratio",
                ),
                unit=RATIO,
                steps=FAILURE_BANDS,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Slowest lead time (P50)",
                "The longest median lead time among the selected services. " + LEAD_NOTE,
                Query(f'max(golive_dora_lead_time_seconds{{{S},quantile="0.5"}})', "lead time"),
                unit=SECONDS,
                steps=LEAD_TIME_BANDS,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Slowest recovery (P50)",
                "The longest median recovery time among the selected services. " + RECOVERY_NOTE,
                Query(f'max(golive_dora_recovery_time_seconds{{{S},quantile="0.5"}})', "recovery"),
                unit=SECONDS,
                steps=RECOVERY_BANDS,
                width=6,
            )
        )
        .with_row(row("Per service and environment"))
        .with_panel(
            table_panel(
                "The four keys",
                "One row per service and environment; each cell coloured by its DORA band "
                "(rework: golive's defaults)." + BANDS_NOTE,
                Column(
                    Query(f"golive_dora_deployment_frequency_per_day{{{S}}}", column="Deploys/day"),
                    PER_DAY,
                    FREQUENCY_BANDS,
                ),
                Column(
                    Query(
                        f'golive_dora_lead_time_seconds{{{S},quantile="0.5"}}',
                        column="Lead time P50",
                    ),
                    SECONDS,
                    LEAD_TIME_BANDS,
                ),
                Column(
                    Query(f"golive_dora_change_failure_ratio{{{S}}}", column="Change failure"),
                    RATIO,
                    FAILURE_BANDS,
                ),
                Column(
                    Query(
                        f'golive_dora_recovery_time_seconds{{{S},quantile="0.5"}}',
                        column="Recovery P50",
                    ),
                    SECONDS,
                    RECOVERY_BANDS,
                ),
                Column(
                    Query(f"golive_dora_rework_ratio{{{S}}}", column="Rework"),
                    RATIO,
                    REWORK_STEPS,
                ),
                keys=("service", "environment"),
                height=9,
            )
        )
        .with_row(row("Over time"))
        .with_panel(
            time_series(
                "Deployment frequency",
                FREQUENCY_NOTE + BANDS_NOTE,
                Query(f"golive_dora_deployment_frequency_per_day{{{S}}}", BY),
                unit=PER_DAY,
                steps=FREQUENCY_BANDS,
            )
        )
        .with_panel(
            time_series(
                "Lead time for changes (P50, P90)",
                LEAD_NOTE + BANDS_NOTE,
                Query(f"golive_dora_lead_time_seconds{{{S}}}", BY + " P{{quantile}}"),
                unit=SECONDS,
                steps=LEAD_TIME_BANDS,
            )
        )
        .with_panel(
            time_series(
                "Change failure ratio",
                FAILURE_NOTE + BANDS_NOTE,
                Query(f"golive_dora_change_failure_ratio{{{S}}}", BY),
                unit=RATIO,
                steps=FAILURE_BANDS,
            )
        )
        .with_panel(
            time_series(
                "Failed-deployment recovery time (P50, P90)",
                RECOVERY_NOTE + BANDS_NOTE,
                Query(f"golive_dora_recovery_time_seconds{{{S}}}", BY + " P{{quantile}}"),
                unit=SECONDS,
                steps=RECOVERY_BANDS,
            )
        )
        .with_panel(
            time_series(
                "Rework ratio",
                REWORK_NOTE,
                Query(f"golive_dora_rework_ratio{{{S}}}", BY),
                unit=RATIO,
                steps=REWORK_STEPS,
            )
        )
        .with_panel(
            bar_gauge(
                "Deployments by outcome (all time)",
                "Deployments golive has recorded, by outcome: success (rolled out) or "
                "failed (the rollout failed or was rolled back). Blue: no good or bad "
                "count on its own.",
                Query(
                    "sum by (service, environment, outcome)"
                    ' (golive_deployments_total{service=~"$service",environment=~"$environment"})',
                    BY + " {{outcome}}",
                ),
                unit=COUNT,
                steps=NEUTRAL,
                width=12,
            )
        )
    )
