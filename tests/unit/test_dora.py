"""DORA keys as DESIGN section 9 defines them, on hand-computed scenarios."""

from __future__ import annotations

from datetime import timedelta

import pytest

from golive.domain.delivery import Delivery, delivery_of
from golive.domain.dora import WINDOWS, dora, quantile
from golive.domain.state import State, apply_all
from tests.unit.events import at, cdevent, deployed, incident, rolledback, rollout

NOW = at(days=7)
WEEK = WINDOWS["7d"]


def checkout(state: State, env: str = "prod") -> Delivery:
    return delivery_of(state, "checkout", env)


def test_one_deployment_per_service_environment_and_version_however_many_events_describe_it() -> (
    None
):
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(0)),
            cdevent(
                "service.upgraded",
                "checkout",
                {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.0"},
                time=at(5),
            ),
            rollout(
                "started",
                "r1",
                time=at(-10),
                service="checkout",
                environment="prod",
                toVersion="1.0",
                desiredInstances=2,
            ),
            rollout("finished", "r1", time=at(1), outcome="succeeded"),
            deployed("checkout", "1.0", env="staging", time=at(2)),
        ]
    )
    prod = checkout(state)
    assert [(d.version, d.deployed_at) for d in prod.deployments] == [("1.0", at(0))]
    assert len(checkout(state, env="staging").deployments) == 1


def test_version_comes_from_the_purl_of_the_artifact() -> None:
    state = apply_all(
        [deployed("checkout", "x", artifact="pkg:oci/checkout@sha256%3Aabc?repository_url=r")]
    )
    assert checkout(state).deployments[0].version == "sha256:abc"


def test_deployment_frequency_is_deployments_in_the_window_per_day() -> None:
    events = [deployed("checkout", f"1.{i}", time=at(days=i)) for i in range(8)]  # days 0..7
    figures = dora(apply_all(events), "checkout", "prod", WEEK, NOW)
    # Window (day 0, day 7]: days 1..7 are in, day 0 is on the open edge.
    assert figures.deployments == 7
    assert figures.deployment_frequency_per_day == pytest.approx(1.0)


def test_incident_while_a_version_is_current_fails_that_deployment() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(days=1)),
            deployed("checkout", "1.1", time=at(days=2)),
            incident("detected", "inc-1", "checkout", time=at(days=2, hours=1)),
            incident("resolved", "inc-1", "checkout", time=at(days=2, hours=3)),
            deployed("checkout", "1.2", time=at(days=3)),
        ]
    )
    outcomes = {d.version: d.outcome for d in checkout(state).deployments}
    assert outcomes == {"1.0": "success", "1.1": "failed", "1.2": "success"}
    figures = dora(state, "checkout", "prod", WEEK, NOW)
    assert figures.change_failure_ratio == pytest.approx(1 / 3)
    assert figures.recovery_times == (2 * 3600.0,)  # detected -> resolved


def test_incident_in_another_environment_fails_nothing_here() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(0)),
            incident("detected", "i", "checkout", env="staging", time=at(1)),
        ]
    )
    assert checkout(state).deployments[0].outcome == "success"


def test_rollback_fails_the_current_deployment_and_next_deployment_restores_it() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(days=1)),
            deployed("checkout", "1.1", time=at(days=2)),
            rolledback("checkout", "1.0", time=at(days=2, minutes=10)),
            deployed("checkout", "1.2", time=at(days=2, minutes=70)),
        ]
    )
    delivery = checkout(state)
    assert [(d.version, d.outcome, d.rework) for d in delivery.deployments] == [
        ("1.0", "success", False),
        ("1.1", "failed", False),
        ("1.2", "success", True),
    ]
    assert [r.seconds for r in delivery.recoveries] == [3600.0]
    figures = dora(state, "checkout", "prod", WEEK, NOW)
    assert figures.rework_ratio == pytest.approx(1 / 3)
    assert figures.recovery_time(0.5) == 3600.0


def test_incident_then_rollback_recovers_at_the_rollback() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(0)),
            deployed("checkout", "1.1", time=at(60)),
            incident("detected", "i1", "checkout", time=at(65)),
            rolledback("checkout", "1.0", time=at(80)),
        ]
    )
    delivery = checkout(state)
    assert [r.seconds for r in delivery.recoveries] == [15 * 60.0]
    assert delivery.current_version == "1.0"


def test_failed_rollout_is_a_failed_deployment_attempt_of_its_target_version() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(0)),
            rollout(
                "started",
                "r2",
                time=at(10),
                service="checkout",
                environment="prod",
                fromVersion="1.0",
                toVersion="1.1",
                desiredInstances=2,
            ),
            rollout("finished", "r2", time=at(20), outcome="failed"),
        ]
    )
    delivery = checkout(state)
    failed = delivery.deployments[1]
    assert (failed.version, failed.outcome, failed.completed) == ("1.1", "failed", False)
    assert delivery.deployments[0].outcome == "success"  # 1.0 kept serving
    assert delivery.recoveries[0].restored_at is None  # still open


def test_rollout_finished_before_its_start_arrives_still_counts_once_started_is_seen() -> None:
    finished = rollout("finished", "r3", time=at(20), outcome="succeeded")
    started = rollout(
        "started",
        "r3",
        time=at(10),
        service="checkout",
        environment="prod",
        toVersion="2.0",
        desiredInstances=1,
    )
    state = apply_all([finished])
    assert delivery_of(state, "checkout", "prod").deployments == ()
    state = apply_all([started], state=state)
    assert [d.version for d in checkout(state).deployments] == ["2.0"]


def test_recovery_counts_in_the_window_of_its_restore() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(days=-10)),
            incident("detected", "i1", "checkout", time=at(days=-9)),
            incident("resolved", "i1", "checkout", time=at(days=1)),
        ]
    )
    figures = dora(state, "checkout", "prod", WEEK, NOW)
    assert figures.recovery_times == (10 * 86400.0,)
    assert figures.deployments == 0
    assert figures.change_failure_ratio is None


def test_two_incidents_recover_when_the_last_one_resolves() -> None:
    state = apply_all(
        [
            deployed("checkout", "1.0", time=at(0)),
            incident("detected", "a", "checkout", time=at(10)),
            incident("reported", "b", "checkout", time=at(20)),
            incident("resolved", "a", "checkout", time=at(30)),
            incident("resolved", "b", "checkout", time=at(50)),
        ]
    )
    assert [r.seconds for r in checkout(state).recoveries] == [40 * 60.0]


def change(predicate: str, change_id: str, minutes: float):  # type: ignore[no-untyped-def]
    return cdevent(
        f"change.{predicate}", change_id, {"repository": {"id": "acme/checkout"}}, time=at(minutes)
    )


def packaged(artifact: str, change_id: str, minutes: float):  # type: ignore[no-untyped-def]
    return cdevent("artifact.packaged", artifact, {"change": {"id": change_id}}, time=at(minutes))


def test_lead_time_runs_from_the_earliest_change_event_to_the_first_deployment_carrying_it() -> (
    None
):
    art_a, art_b = "pkg:oci/checkout@1.1", "pkg:oci/checkout@1.2"
    state = apply_all(
        [
            change("created", "c1", 0),
            change("merged", "c1", 60),
            change("merged", "c2", 100),  # no `created`: starts at merge
            packaged(art_a, "c1", 70),
            packaged(art_b, "c1", 110),  # also in the next artifact: first deployment counts
            packaged(art_b, "c2", 110),
            deployed("checkout", "1.1", artifact=art_a, time=at(120)),
            deployed("checkout", "1.2", artifact=art_b, time=at(400)),
            deployed("checkout", "1.2", env="staging", artifact=art_b, time=at(130)),
        ]
    )
    figures = dora(state, "checkout", "prod", WEEK, NOW)
    assert sorted(figures.lead_times) == [120 * 60.0, 300 * 60.0]
    assert figures.lead_time(0.5) == 120 * 60.0
    assert figures.lead_time(0.9) == 300 * 60.0
    staging = dora(state, "checkout", "staging", WEEK, NOW)
    assert sorted(staging.lead_times) == [30 * 60.0, 130 * 60.0]


def test_failed_rollout_attempt_does_not_ship_changes() -> None:
    state = apply_all(
        [
            change("created", "c1", 0),
            packaged("pkg:oci/checkout@1.1", "c1", 5),
            rollout(
                "started",
                "r",
                time=at(10),
                service="checkout",
                environment="prod",
                toVersion="1.1",
                desiredInstances=1,
            ),
            rollout("finished", "r", time=at(20), outcome="failed"),
        ]
    )
    assert dora(state, "checkout", "prod", WEEK, NOW).lead_times == ()


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([5.0], 0.9, 5.0),
        ([1.0, 2.0], 0.5, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 0.9, 4.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
    ],
)
def test_quantiles_use_the_nearest_rank(
    values: list[float], q: float, expected: float | None
) -> None:
    assert quantile(values, q) == expected


def test_windows_are_seven_and_thirty_days() -> None:
    assert {"7d": timedelta(days=7), "30d": timedelta(days=30)} == WINDOWS
