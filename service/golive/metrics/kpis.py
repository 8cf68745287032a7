"""State metrics: a custom collector that builds fresh metric families from the
leader's latest KPI snapshot at scrape time (no stale label sets), and the leader's own
gauges. A non-leader serves no state metrics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from golive.domain.alerts import ALERT_SEVERITY
from golive.domain.periods import PeriodKind
from golive.domain.snapshot import Histogram as Buckets
from golive.domain.snapshot import KpiSnapshot

DORA = ["service", "environment", "window"]
QUANTILES = ["service", "environment", "window", "quantile"]
# One series per (service, environment): its latest rollout, named by id and version so
# a dashboard shows each rollout as its own line. A newer rollout replaces the series.
LATEST_ROLLOUT = ["service", "environment", "rollout", "version"]


class LeaderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "golive_leader", "1 on the instance that leads (alerts, KPI gauges).", registry=registry
        )
        self.evaluation_duration = Histogram(
            "golive_evaluation_duration_seconds",
            "Seconds to refresh the KPI snapshot from Postgres.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
            registry=registry,
        )
        self.evaluation_errors = Counter(
            "golive_evaluation_errors", "Snapshot refreshes that failed.", registry=registry
        )
        self.deliveries_pending = Gauge(
            "golive_deliveries_pending",
            "Services' changed deliveries queued by batches and not derived yet (leader only).",
            registry=registry,
        )
        self.derivation_errors = Counter(
            "golive_derivation_errors",
            "Rounds of deriving the queued deliveries that failed (tried again).",
            registry=registry,
        )
        self.reports_published = Counter(
            "golive_reports_published",
            "Reports of closed periods this instance stored, by period.",
            ["period"],
            registry=registry,
        )
        self.report_deliveries = Counter(
            "golive_report_deliveries",
            "Report webhook attempts, by outcome (delivered, failed).",
            ["outcome"],
            registry=registry,
        )
        self.report_deliveries_pending = Gauge(
            "golive_report_deliveries_pending",
            "Published reports not yet taken by the webhook (leader only).",
            registry=registry,
        )
        self.alert_deliveries = Counter(
            "golive_alert_deliveries",
            "Alertmanager deliveries (one POST of every alert state due), by outcome "
            "(delivered, failed).",
            ["outcome"],
            registry=registry,
        )
        self.alert_deliveries_pending = Gauge(
            "golive_alert_deliveries_pending",
            "Alert states (firing or resolved) due to Alertmanager that it has not taken "
            "yet (leader only); retried every evaluation.",
            registry=registry,
        )
        # Every series exists from the start at 0, so increase() sees the first report.
        for period in get_args(PeriodKind):
            self.reports_published.labels(period)
        for outcome in ("delivered", "failed"):
            self.report_deliveries.labels(outcome)
            self.alert_deliveries.labels(outcome)


class KpiCollector:
    """What this instance serves as state metrics: the families of the leader's latest
    snapshot and the counts of golive's own alerts firing, as text exposition.

    The families only change when the snapshot does, so they are rendered once per
    snapshot (`render_state`, in the leader process under `golive run`) and a scrape
    serves those bytes: a scrape of ~30k samples then costs a copy, not a Python loop
    over every sample. A standby serves none.
    """

    def __init__(self) -> None:
        self.rendered = b""

    def publish(self, snapshot: KpiSnapshot | None) -> None:
        """Serve `snapshot`, rendered here (None: serve no state metrics)."""
        if snapshot is None:
            self.rendered = b""
        else:
            self.serve(render_state(snapshot), snapshot.alerts_firing)

    def serve(self, state: bytes, alerts_firing: Mapping[tuple[str, str], int]) -> None:
        """Serve state families rendered elsewhere, with the alert counts this instance's
        notifier found (the alerts' lifecycle is kept by the leader, not the renderer)."""
        self.rendered = state + _render([_alerts(alerts_firing)])


def state_families(s: KpiSnapshot) -> Iterator[Metric]:
    """Every family of the snapshot but the alert counts (`KpiCollector.serve`)."""
    yield from _evaluation(s)
    yield from _dora(s)
    yield from _deployments(s)
    yield from _rollouts(s)
    yield from _releases(s)
    yield from _teams(s)


def render_state(snapshot: KpiSnapshot) -> bytes:
    """The snapshot's families as Prometheus text exposition."""
    return _render(state_families(snapshot))


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = families

    def describe(self) -> list[Metric]:
        return []  # the families vary; registering must not consume them

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _render(families: Iterable[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)


def _evaluation(s: KpiSnapshot) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "golive_evaluation_timestamp_seconds",
        "When the served KPI snapshot was taken.",
        value=s.taken_at.timestamp(),
    )


def _dora(s: KpiSnapshot) -> Iterator[Metric]:
    frequency = GaugeMetricFamily(
        "golive_dora_deployment_frequency_per_day",
        "Deployments per day over the window.",
        labels=DORA,
    )
    failure = GaugeMetricFamily(
        "golive_dora_change_failure_ratio",
        "Failed deployments / deployments over the window.",
        labels=DORA,
    )
    rework = GaugeMetricFamily(
        "golive_dora_rework_ratio",
        "Deployments made to repair a failure / deployments.",
        labels=DORA,
    )
    lead = GaugeMetricFamily(
        "golive_dora_lead_time_seconds",
        "Lead time for changes shipped in the window (p50, p90).",
        labels=QUANTILES,
    )
    recovery = GaugeMetricFamily(
        "golive_dora_recovery_time_seconds",
        "Failed-deployment recovery time, recoveries restored in the window (p50, p90).",
        labels=QUANTILES,
    )
    for row in s.dora:
        labels = [row.service, row.environment, row.window]
        frequency.add_metric(labels, row.deployment_frequency_per_day)
        if row.change_failure_ratio is not None:
            failure.add_metric(labels, row.change_failure_ratio)
        if row.rework_ratio is not None:
            rework.add_metric(labels, row.rework_ratio)
        for quantile, value in (("0.5", row.lead_time_p50), ("0.9", row.lead_time_p90)):
            if value is not None:
                lead.add_metric([*labels, quantile], value)
        for quantile, value in (("0.5", row.recovery_time_p50), ("0.9", row.recovery_time_p90)):
            if value is not None:
                recovery.add_metric([*labels, quantile], value)
    yield from (frequency, failure, rework, lead, recovery)


def _deployments(s: KpiSnapshot) -> Iterator[Metric]:
    family = CounterMetricFamily(
        "golive_deployments",
        "Deployments by outcome: success (rolled out) or failed (the rollout failed or was "
        "rolled back). Change failures found later are in golive_dora_change_failure_ratio.",
        labels=["service", "environment", "outcome"],
    )
    for row in s.deployments:
        family.add_metric([row.service, row.environment, "success"], row.succeeded)
        family.add_metric([row.service, row.environment, "failed"], row.failed)
    yield family


def _histogram(name: str, documentation: str, rows: tuple[Buckets, ...]) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=["service", "environment"])
    for row in rows:
        buckets = [(_le(bound), float(count)) for bound, count in row.buckets]
        buckets.append(("+Inf", float(row.count)))
        family.add_metric([row.service, row.environment], buckets, row.total)
    return family


def _le(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)


def _rollouts(s: KpiSnapshot) -> Iterator[Metric]:
    yield _histogram(
        "golive_rollout_duration_seconds", "Duration of finished rollouts.", s.rollout_duration
    )
    yield _histogram(
        "golive_rollout_downtime_seconds",
        "Time with no ready instance during finished rollouts.",
        s.rollout_downtime,
    )
    yield _histogram(
        "golive_rollout_degraded_seconds",
        "Time below the minimum healthy instances during finished rollouts.",
        s.rollout_degraded,
    )
    yield GaugeMetricFamily(
        "golive_rollouts_in_progress",
        "Rollouts started and not finished.",
        value=s.rollouts_in_progress,
    )
    yield from _latest_rollouts(s)


def _latest_rollouts(s: KpiSnapshot) -> Iterator[Metric]:
    duration = GaugeMetricFamily(
        "golive_rollout_latest_duration_seconds",
        "The latest rollout of each service and environment (in progress or finished in "
        "the last 24 h): its duration, so far while in progress.",
        labels=LATEST_ROLLOUT,
    )
    downtime = GaugeMetricFamily(
        "golive_rollout_latest_downtime_seconds",
        "The latest rollout's time with no ready instance (so far while in progress).",
        labels=LATEST_ROLLOUT,
    )
    degraded = GaugeMetricFamily(
        "golive_rollout_latest_degraded_seconds",
        "The latest rollout's time below the minimum healthy instances (so far).",
        labels=LATEST_ROLLOUT,
    )
    outcome = GaugeMetricFamily(
        "golive_rollout_latest_outcome",
        "1 for the latest rollout's outcome: in_progress, succeeded, failed or rolledback.",
        labels=[*LATEST_ROLLOUT, "outcome"],
    )
    for row in s.rollouts:
        labels = [row.service, row.environment, row.rollout, row.to_version or ""]
        end = row.finished_at or s.taken_at
        duration.add_metric(labels, max(0.0, (end - row.started_at).total_seconds()))
        downtime.add_metric(labels, row.downtime)
        degraded.add_metric(labels, row.degraded)
        outcome.add_metric([*labels, row.outcome or "in_progress"], 1)
    yield from (duration, downtime, degraded, outcome)


def _releases(s: KpiSnapshot) -> Iterator[Metric]:
    progress = GaugeMetricFamily(
        "golive_release_progress_ratio", "Tasks done / tasks of the release.", labels=["release"]
    )
    tasks = GaugeMetricFamily(
        "golive_release_tasks", "Tasks of the release by status.", labels=["release", "status"]
    )
    target = GaugeMetricFamily(
        "golive_release_target_timestamp_seconds", "The release's go-live date.", labels=["release"]
    )
    forecast = GaugeMetricFamily(
        "golive_release_forecast_timestamp_seconds",
        "Monte Carlo completion forecast (quantile 0.5 and 0.85).",
        labels=["release", "quantile"],
    )
    risk = GaugeMetricFamily(
        "golive_release_at_risk",
        "1 when the P85 forecast is after the target date.",
        labels=["release"],
    )
    late = GaugeMetricFamily(
        "golive_release_late", "1 when past the target date with work left.", labels=["release"]
    )
    met = GaugeMetricFamily(
        "golive_objective_met",
        "1 when the objective is met, 0 when not (absent without data).",
        labels=["release", "objective"],
    )
    value = GaugeMetricFamily(
        "golive_objective_value",
        "The objective's KPI value (seconds, ratios, counts).",
        labels=["release", "objective", "kpi"],
    )
    overdue = GaugeMetricFamily(
        "golive_tasks_overdue", "Open tasks past their due date.", labels=["release", "team"]
    )
    for row in s.releases:
        if row.progress is not None:
            progress.add_metric([row.release], row.progress)
        for status, count in row.tasks.items():
            tasks.add_metric([row.release, status], count)
        if row.target is not None:
            target.add_metric([row.release], row.target.timestamp())
        for quantile, when in (("0.5", row.forecast_p50), ("0.85", row.forecast_p85)):
            if when is not None:
                forecast.add_metric([row.release, quantile], when.timestamp())
        if row.at_risk is not None:
            risk.add_metric([row.release], float(row.at_risk))
        late.add_metric([row.release], float(row.late))
        for objective in row.objectives:
            if objective.met is not None:
                met.add_metric([row.release, objective.objective], float(objective.met))
            if objective.value is not None:
                value.add_metric([row.release, objective.objective, objective.kpi], objective.value)
    for (release, team), count in sorted(s.overdue.items()):
        overdue.add_metric([release, team], count)
    yield from (progress, tasks, target, forecast, risk, late, met, value, overdue)


def _teams(s: KpiSnapshot) -> Iterator[Metric]:
    last = GaugeMetricFamily(
        "golive_team_last_activity_timestamp_seconds",
        "The team's latest activity.",
        labels=["team"],
    )
    idle = GaugeMetricFamily(
        "golive_team_idle", "1 when the team is idle (business time).", labels=["team"]
    )
    open_tasks = GaugeMetricFamily(
        "golive_team_open_tasks", "Open tasks in open releases.", labels=["team"]
    )
    for row in s.teams:
        if row.last_activity is not None:
            last.add_metric([row.team], row.last_activity.timestamp())
        idle.add_metric([row.team], float(row.idle))
        open_tasks.add_metric([row.team], row.open_tasks)
    yield from (last, idle, open_tasks)


def _alerts(firing: Mapping[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "golive_alerts_firing", "golive's own alerts firing now.", labels=["alertname", "severity"]
    )
    for name, severity in ALERT_SEVERITY.items():
        family.add_metric([name, severity], firing.get((name, severity), 0))
    return family
