"""Alert conditions on KPI snapshots, and the alert lifecycle (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from golive.alerting.lifecycle import delivered, due, payload, reconcile
from golive.domain.alerts import ALERT_SEVERITY, evaluate_alerts
from golive.domain.catalog import parse_catalog
from golive.domain.snapshot import (
    KpiSnapshot,
    ObjectiveValue,
    OpenRecovery,
    ReleaseRow,
    RolloutRow,
    TeamRow,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CATALOG = parse_catalog(
    {
        "defaults": {"rollout_downtime_budget": "5s", "rollout_stuck_after": "30m"},
        "services": {"checkout": {"team": "payments"}},
    }
)


def release(**kw: object) -> ReleaseRow:
    base: dict[str, object] = {
        "release": "R1",
        "target": NOW + timedelta(days=3),
        "progress": 0.5,
        "tasks": {"todo": 1, "done": 1},
        "forecast_p50": NOW + timedelta(days=2),
        "forecast_p85": NOW + timedelta(days=4),
        "forecast_basis": "throughput",
        "at_risk": True,
        "late": False,
    }
    base.update(kw)
    return ReleaseRow(**base)  # type: ignore[arg-type]


def rollout(**kw: object) -> RolloutRow:
    base: dict[str, object] = {
        "rollout": "r1",
        "service": "checkout",
        "environment": "prod",
        "to_version": "2.0",
        "started_at": NOW - timedelta(minutes=10),
        "last_progress": NOW - timedelta(minutes=1),
        "finished_at": None,
        "outcome": None,
        "downtime": 0.0,
        "degraded": 0.0,
    }
    base.update(kw)
    return RolloutRow(**base)  # type: ignore[arg-type]


def names(snapshot: KpiSnapshot) -> dict[str, dict[str, str]]:
    return {a.name: a.labels for a in evaluate_alerts(snapshot, CATALOG, NOW)}


def test_healthy_snapshot_raises_nothing() -> None:
    healthy = KpiSnapshot(
        NOW,
        releases=(release(at_risk=False),),
        teams=(TeamRow("payments", NOW, 2, False),),
        rollouts=(rollout(),),
    )
    assert evaluate_alerts(healthy, CATALOG, NOW) == []


def test_each_condition_raises_its_alert_with_its_entity_labels() -> None:
    snapshot = KpiSnapshot(
        NOW,
        releases=(
            release(
                objectives=(
                    ObjectiveValue("cfr", "change_failure_ratio", 0.4, False),
                    ObjectiveValue("done", "tasks_done_ratio", 0.5, None),
                )
            ),
        ),
        overdue={("R1", "payments"): 2},
        teams=(TeamRow("data", NOW - timedelta(days=5), 3, True, 40 * 3600, 4 * 3600),),
        rollouts=(rollout(last_progress=NOW - timedelta(minutes=31), downtime=8.0),),
        open_recoveries=(OpenRecovery("search", "prod", NOW - timedelta(hours=1), "incident"),),
    )
    alerts = names(snapshot)
    assert alerts == {
        "GoliveReleaseAtRisk": {
            "alertname": "GoliveReleaseAtRisk",
            "severity": "warning",
            "release": "R1",
        },
        "GoliveObjectiveOffTrack": {
            "alertname": "GoliveObjectiveOffTrack",
            "severity": "warning",
            "release": "R1",
            "objective": "cfr",
        },
        "GoliveTaskOverdue": {
            "alertname": "GoliveTaskOverdue",
            "severity": "warning",
            "release": "R1",
            "team": "payments",
        },
        "GoliveTeamIdle": {"alertname": "GoliveTeamIdle", "severity": "warning", "team": "data"},
        "GoliveRolloutStuck": {
            "alertname": "GoliveRolloutStuck",
            "severity": "critical",
            "service": "checkout",
            "environment": "prod",
            "team": "payments",
        },
        "GoliveRolloutDowntime": {
            "alertname": "GoliveRolloutDowntime",
            "severity": "critical",
            "service": "checkout",
            "environment": "prod",
            "team": "payments",
        },
        "GoliveDeploymentFailed": {
            "alertname": "GoliveDeploymentFailed",
            "severity": "critical",
            "service": "search",
            "environment": "prod",
        },
    }
    assert set(alerts) | {"GoliveReleaseLate"} == set(ALERT_SEVERITY)


def test_a_late_release_alerts_late_not_at_risk() -> None:
    alerts = names(KpiSnapshot(NOW, releases=(release(late=True, target=NOW - timedelta(days=1)),)))
    assert set(alerts) == {"GoliveReleaseLate"}
    assert alerts["GoliveReleaseLate"]["severity"] == "critical"


def test_every_alert_says_what_to_do() -> None:
    snapshot = KpiSnapshot(NOW, overdue={("R1", ""): 1}, teams=(TeamRow("data", None, 1, True),))
    for alert in evaluate_alerts(snapshot, CATALOG, NOW):
        assert alert.summary
        assert alert.description
        assert alert.action
        assert alert.path.startswith("/api/v1/")


def test_downtime_within_the_budget_is_not_an_alert() -> None:
    assert names(KpiSnapshot(NOW, rollouts=(rollout(downtime=5.0),))) == {}


def test_a_finished_rollout_is_never_stuck() -> None:
    finished = rollout(
        outcome="succeeded",
        finished_at=NOW - timedelta(hours=2),
        last_progress=NOW - timedelta(hours=2),
    )
    assert names(KpiSnapshot(NOW, rollouts=(finished,))) == {}


def test_fingerprint_depends_on_the_entity_not_the_wording() -> None:
    a = evaluate_alerts(KpiSnapshot(NOW, overdue={("R1", "payments"): 2}), CATALOG, NOW)[0]
    b = evaluate_alerts(KpiSnapshot(NOW, overdue={("R1", "payments"): 5}), CATALOG, NOW)[0]
    c = evaluate_alerts(KpiSnapshot(NOW, overdue={("R1", "data"): 2}), CATALOG, NOW)[0]
    assert a.fingerprint == b.fingerprint != c.fingerprint


# --- lifecycle ------------------------------------------------------------------------------


def overdue(n: int = 2) -> list[object]:
    return list(evaluate_alerts(KpiSnapshot(NOW, overdue={("R1", "payments"): n}), CATALOG, NOW))


def test_an_alert_keeps_its_start_while_it_fires_and_resolves_when_it_stops() -> None:
    first = reconcile({}, overdue(), NOW)  # type: ignore[arg-type]
    (state,) = first.values()
    assert (state.starts_at, state.resolved_at) == (NOW, None)
    later = reconcile(first, overdue(3), NOW + timedelta(minutes=5))  # type: ignore[arg-type]
    assert next(iter(later.values())).starts_at == NOW
    assert "3 task(s)" in next(iter(later.values())).annotations["summary"]
    resolved = reconcile(later, [], NOW + timedelta(minutes=10))
    assert next(iter(resolved.values())).resolved_at == NOW + timedelta(minutes=10)


def test_firing_alerts_are_resent_every_minute_and_a_resolution_once() -> None:
    states = reconcile({}, overdue(), NOW)  # type: ignore[arg-type]
    assert len(due(states.values(), NOW)) == 1
    sent = {s.fingerprint: s for s in delivered(due(states.values(), NOW), NOW)}
    assert due(sent.values(), NOW + timedelta(seconds=59)) == []
    assert len(due(sent.values(), NOW + timedelta(seconds=60))) == 1
    resolved = reconcile(sent, [], NOW + timedelta(minutes=2))
    (outgoing,) = due(resolved.values(), NOW + timedelta(minutes=2))
    (body,) = payload([outgoing], NOW + timedelta(minutes=2), "http://golive:8080")
    assert body["endsAt"] == "2026-11-24T10:02:00Z"
    done = {s.fingerprint: s for s in delivered([outgoing], NOW + timedelta(minutes=2))}
    assert due(done.values(), NOW + timedelta(hours=1)) == []


def test_payload_is_alertmanager_v2_with_a_link_to_the_entity() -> None:
    states = reconcile({}, overdue(), NOW)  # type: ignore[arg-type]
    (body,) = payload(states.values(), NOW, "https://golive.example/")
    assert body["labels"] == {
        "alertname": "GoliveTaskOverdue",
        "severity": "warning",
        "release": "R1",
        "team": "payments",
    }
    assert set(body["annotations"]) == {"summary", "description", "action"}
    assert body["startsAt"] == "2026-11-24T10:00:00Z"
    assert body["endsAt"] == "2026-11-24T10:04:00Z"  # four resend intervals ahead
    assert body["generatorURL"] == "https://golive.example/api/v1/releases/R1"


def test_an_alert_that_fires_again_after_resolving_starts_anew() -> None:
    states = reconcile(reconcile({}, overdue(), NOW), [], NOW + timedelta(minutes=1))  # type: ignore[arg-type]
    again = reconcile(states, overdue(), NOW + timedelta(minutes=2))  # type: ignore[arg-type]
    state = next(iter(again.values()))
    assert (state.starts_at, state.resolved_at, state.last_sent_at) == (
        NOW + timedelta(minutes=2),
        None,
        None,
    )
