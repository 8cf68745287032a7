"""golive health: is golive itself keeping up? Instances and leader, ingest rate and
lag, dead letters, batch times, snapshot refreshes, the HTTP intake and reports."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.panels import (
    COUNT,
    EVENTS_PER_S,
    GREEN,
    NEUTRAL,
    NONE_IS_GOOD,
    ORANGE,
    RED,
    SECONDS,
    YELLOW,
    Query,
    dashboard,
    label_variable,
    row,
    stat_panel,
    thresholds,
    time_series,
)

INST = 'instance=~"$instance"'
RATE = "[$__rate_interval]"
LAG_STEPS = thresholds(GREEN, (1_000, YELLOW), (10_000, RED))
BATCH_STEPS = thresholds(GREEN, (0.5, YELLOW), (2, RED))
EVENT_LAG_STEPS = thresholds(GREEN, (5, YELLOW), (60, RED))
REFRESH_STEPS = thresholds(GREEN, (2, YELLOW), (10, RED))
RUNBOOK = " Runbooks: docs/operations.md."


def _quantiles(metric: str, *by: str) -> tuple[Query, ...]:
    labels = ", ".join(("le", *by))
    legend = " ".join(f"{{{{{label}}}}}" for label in by)
    return tuple(
        Query(
            f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{{{INST}}}{RATE})))",
            f"{legend} P{int(q * 100)}".strip(),
        )
        for q in (0.5, 0.99)
    )


def build() -> Dashboard:
    return (
        dashboard(
            "golive-health",
            "golive / Health",
            "golive watching itself: instances, leader, ingest throughput and lag, dead "
            "letters, batch and refresh times, the HTTP intake and report delivery.",
            time_from="now-1h",
        )
        .with_variable(
            label_variable(
                "instance", "Instance", "golive_ready", "golive instances scraped.", multi=True
            )
        )
        .with_row(row("Instances"))
        .with_panel(
            stat_panel(
                "Ready instances",
                "Instances connected to the broker and Postgres and consuming (/readyz)." + RUNBOOK,
                Query(f"sum(golive_ready{{{INST}}})", "ready"),
                unit=COUNT,
                steps=thresholds(RED, (1, GREEN)),
            )
        )
        .with_panel(
            stat_panel(
                "Leaders",
                "Instances holding the leader lock (snapshot, alerts, reports). Exactly "
                "one is right: 0 means no KPI metrics and no alerts, 2 cannot last (the "
                "lock is a Postgres advisory lock)." + RUNBOOK,
                Query(f"sum(golive_leader{{{INST}}})", "leaders"),
                unit=COUNT,
                steps=thresholds(RED, (1, GREEN), (2, RED)),
            )
        )
        .with_panel(
            stat_panel(
                "Consumer lag",
                "Records on the events topic not yet consumed, all partitions. It should "
                "come back to 0 between bursts.",
                Query(f"sum(golive_consumer_lag_messages{{{INST}}})", "lag"),
                unit=COUNT,
                steps=LAG_STEPS,
            )
        )
        .with_panel(
            stat_panel(
                "Snapshot age",
                "Time since the served KPI snapshot was taken. It should stay near the "
                "evaluation interval (GOLIVE_EVALUATION_INTERVAL, 30 s by default).",
                Query(f"time() - max(golive_evaluation_timestamp_seconds{{{INST}}})", "age"),
                unit=SECONDS,
                steps=thresholds(GREEN, (60, YELLOW), (300, RED)),
            )
        )
        .with_panel(
            stat_panel(
                "Dead letters",
                "Records sent to the dead-letter topic in the time range: malformed or "
                "invalid events golive could not apply. Each carries its reason.",
                Query(f"sum(increase(golive_dead_letters_total{{{INST}}}[$__range]))", "dead"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
            )
        )
        .with_panel(
            stat_panel(
                "Ingest errors",
                "Batch attempts that failed and were retried (database or broker away) in "
                "the time range. Nothing is lost: the batch is retried." + RUNBOOK,
                Query(f"sum(increase(golive_ingest_errors_total{{{INST}}}[$__range]))", "errors"),
                unit=COUNT,
                steps=NONE_IS_GOOD,
            )
        )
        .with_row(row("Ingest"))
        .with_panel(
            time_series(
                "Events consumed",
                "Events per second by outcome: applied, duplicate (already applied; safe) "
                "or dead_lettered. Blue: throughput has no good or bad value.",
                Query(
                    f"sum by (outcome) (rate(golive_events_total{{{INST}}}{RATE}))", "{{outcome}}"
                ),
                unit=EVENTS_PER_S,
                steps=NEUTRAL,
                stacked=True,
            )
        )
        .with_panel(
            time_series(
                "Consumer lag per partition",
                "High watermark minus position for each partition, on the instance that owns it.",
                Query(
                    f"golive_consumer_lag_messages{{{INST}}}",
                    "{{topic}}/{{partition}} {{instance}}",
                ),
                unit=COUNT,
                steps=LAG_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Event lag (P50, P99)",
                "From an event's time to its state committed in Postgres. Live events "
                "take well under a second; backfills show their age.",
                *_quantiles("golive_event_lag_seconds"),
                unit=SECONDS,
                steps=EVENT_LAG_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Batch duration (P50, P99)",
                "Decode, store and commit of one consumer batch, per instance.",
                *_quantiles("golive_batch_duration_seconds", "instance"),
                unit=SECONDS,
                steps=BATCH_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Batch size (P50, P99)",
                "Records per consumer batch: larger under load, as the consumer catches up. A "
                "size has no good or bad level of its own.",
                *_quantiles("golive_batch_size_events"),
                unit=COUNT,
                steps=NEUTRAL,
            )
        )
        .with_panel(
            time_series(
                "Dead letters and failures",
                "Per second: dead letters by reason, failed batch attempts by component "
                "(retried), and failed snapshot refreshes (the previous snapshot is served "
                "meanwhile).",
                Query(
                    f"sum by (reason) (rate(golive_dead_letters_total{{{INST}}}{RATE}))",
                    "dead letter: {{reason}}",
                ),
                Query(
                    f"sum by (component) (rate(golive_ingest_errors_total{{{INST}}}{RATE}))",
                    "retry: {{component}}",
                ),
                Query(
                    f"sum(rate(golive_evaluation_errors_total{{{INST}}}{RATE}))",
                    "snapshot refresh failed",
                ),
                unit="ops",
                steps=thresholds(GREEN, (0.001, RED)),
            )
        )
        .with_row(row("Leader work"))
        .with_panel(
            time_series(
                "Snapshot refresh (P50, P99)",
                "Time to recompute the KPI snapshot from Postgres, on the leader.",
                *_quantiles("golive_evaluation_duration_seconds"),
                unit=SECONDS,
                steps=REFRESH_STEPS,
            )
        )
        .with_panel(
            time_series(
                "Reports",
                "Reports of closed periods published, webhook deliveries by outcome, and "
                "published reports the webhook has not taken yet.",
                Query(
                    f"sum by (period) (increase(golive_reports_published_total{{{INST}}}{RATE}))",
                    "published: {{period}}",
                ),
                Query(
                    f"sum by (outcome) (increase(golive_report_deliveries_total{{{INST}}}{RATE}))",
                    "delivery: {{outcome}}",
                ),
                Query(f"sum(golive_report_deliveries_pending{{{INST}}})", "pending"),
                unit=COUNT,
                steps=thresholds(GREEN, (10, ORANGE)),
            )
        )
        .with_row(row("HTTP intake (POST /api/v1/events)"))
        .with_panel(
            time_series(
                "Requests by status",
                "Answers per second: 202 accepted, 400 rejected, 401/403 refused, 413 too "
                "large, 415 wrong type, 429 over GOLIVE_API_EVENT_RATE, 503 broker away. Rates "
                "have no good or bad level of their own: watch the 4xx and 503 series.",
                Query(
                    f"sum by (status) (rate(golive_api_event_requests_total{{{INST}}}{RATE}))",
                    "{{status}}",
                ),
                unit="reqps",
                steps=NEUTRAL,
                stacked=True,
            )
        )
        .with_panel(
            time_series(
                "Events received over HTTP",
                "Events those requests carried, per second, by the answer's status "
                "(202: produced to the events topic). A rate has no good or bad level of its own.",
                Query(
                    f"sum by (status) (rate(golive_api_events_total{{{INST}}}{RATE}))",
                    "{{status}}",
                ),
                unit=EVENTS_PER_S,
                steps=NEUTRAL,
                stacked=True,
            )
        )
    )
