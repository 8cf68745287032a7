"""The demo's scenario: every record is accepted, and the story it tells holds whatever the
day the demo starts (the facts are checked with golive's own domain functions)."""

from __future__ import annotations

import json
import random
import tomllib
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from golive.contract import Event, Mode, Rejection, decode_record
from golive.demo.live import CHECKOUT, GATEWAY, STOREFRONT
from golive.demo.scenario import (
    DATA_LAST_ACTIVE,
    SERVICES,
    TEAMS,
    ScenarioRecord,
    demo_catalog,
    demo_catalog_path,
    release_id,
    scenario,
)
from golive.domain.catalog import Catalog, parse_catalog
from golive.domain.dora import WINDOWS, dora
from golive.domain.releases import at_risk, forecast, objectives, progress, schedule_slip
from golive.domain.rollouts import availability
from golive.domain.state import State, apply_all
from golive.domain.teams import team_status
from tests.conftest import cdevents_dir

LIVE = 90.0
REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

# Start days chosen to break naive date arithmetic: every one is checked for the facts.
NOWS = {
    "monday-morning": datetime(2026, 11, 23, 8, 5, tzinfo=UTC),
    "tuesday": datetime(2026, 11, 24, 11, 13, tzinfo=UTC),
    "wednesday-before-thanksgiving": datetime(2026, 11, 25, 16, 30, tzinfo=UTC),
    "friday-new-years-day": datetime(2027, 1, 1, 15, 0, tzinfo=UTC),
    "saturday-after-christmas": datetime(2026, 12, 26, 10, 0, tzinfo=UTC),
    "sunday-night-dst-switch": datetime(2027, 3, 28, 23, 30, tzinfo=UTC),
}
DEFAULT_NOW = NOWS["tuesday"]


@cache
def records(now: datetime, live_seconds: float = LIVE) -> tuple[ScenarioRecord, ...]:
    return tuple(scenario(now, live_seconds=live_seconds))


def decode(record: ScenarioRecord) -> Event:
    event = decode_record(record.value, record.headers)
    assert isinstance(event, Event), f"{record.label}: {event}"
    return event


@cache
def events(now: datetime) -> tuple[Event, ...]:
    return tuple(decode(r) for r in records(now))


@cache
def catalog() -> Catalog:
    return parse_catalog(tomllib.loads(demo_catalog_path().read_text()))


@cache
def final_state(now: datetime) -> State:
    return apply_all(events(now), catalog())


def the_end(now: datetime) -> datetime:
    return now + timedelta(seconds=LIVE + 1)


# --- the records -------------------------------------------------------------------------


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_every_record_decodes_with_a_unique_identity(now: datetime) -> None:
    decoded = [decode_record(r.value, r.headers) for r in records(now)]
    rejected = [
        (r.label, d) for r, d in zip(records(now), decoded, strict=True) if isinstance(d, Rejection)
    ]
    assert not rejected
    keys = [e.key for e in events(now)]
    assert len(keys) == len(set(keys))
    assert len({e.id for e in events(now)}) == len(keys)


def test_records_use_every_accepted_format() -> None:
    evs = events(DEFAULT_NOW)
    assert {e.mode for e in evs} == {Mode.CDEVENT, Mode.STRUCTURED, Mode.BINARY}
    assert {e.spec_version for e in evs} == {"0.4.1", "0.5.1"}
    binary_teams = {e.team for e in evs if e.mode is Mode.BINARY and e.team}
    structured_teams = {e.team for e in evs if e.mode is Mode.STRUCTURED and e.team}
    assert binary_teams
    assert structured_teams
    names = {e.name for e in evs}
    assert {
        "golive-release.planned",
        "golive-release.updated",
        "golive-task.scheduled",
        "golive-task.updated",
        "golive-rollout.started",
        "golive-rollout.progressed",
        "golive-rollout.finished",
        "ticket.created",
        "ticket.closed",
        "change.created",
        "change.merged",
        "artifact.packaged",
        "service.deployed",
        "service.rolledback",
        "incident.detected",
        "incident.resolved",
        "pipelinerun.finished",
    } <= names
    tickets = [e for e in evs if e.name == "ticket.created"]
    assert all(e.custom_data and {"dueDate", "kind"} <= set(e.custom_data) for e in tickets)


def _cdevent(record: ScenarioRecord) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(record.value)
    return document["data"] if "specversion" in document and "data" in document else document


@cache
def _validator(type_: str, spec_version: str) -> jsonschema.Draft202012Validator:
    subject, predicate = type_.split(".")[2:4]
    if subject.startswith("golive-"):
        path = REPO_SCHEMAS / f"{subject}.{predicate}.json"
    else:
        path = cdevents_dir() / f"v{spec_version}" / "schemas" / f"{subject}{predicate}.json"
    return jsonschema.Draft202012Validator(json.loads(path.read_text()))


def test_records_validate_against_the_published_schemas() -> None:
    """CDEvents against the spec's own schemas (0.4.1 or 0.5.1), golive types against
    `schemas/`: the demo shows producers what to send."""
    for record in records(DEFAULT_NOW):
        document = _cdevent(record)
        context = document["context"]
        spec_version = context.get("specversion") or context["version"]
        errors = list(_validator(context["type"], spec_version).iter_errors(document))
        assert not errors, f"{record.label}: {[e.message for e in errors]}"


def test_cloudevents_attributes_repeat_the_cdevent_context() -> None:
    for record in records(DEFAULT_NOW):
        context = _cdevent(record)["context"]
        headers = {k: v.decode() for k, v in record.headers}
        document = json.loads(record.value)
        attributes = {
            k.removeprefix("ce_"): v for k, v in headers.items() if k.startswith("ce_")
        } or (document if "specversion" in document else {})
        if attributes:
            assert attributes["time"] == context["timestamp"]
            assert attributes["subject"] == _cdevent(record)["subject"]["id"]
        assert record.key == _cdevent(record)["subject"]["id"].encode()
        assert record.label


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_records_are_sorted_history_first_then_live_within_live_seconds(now: datetime) -> None:
    recs = records(now)
    assert [r.at for r in recs] == sorted(r.at for r in recs)
    assert all(now <= r.at <= now + timedelta(seconds=LIVE) for r in recs)
    for record, event in zip(recs, events(now), strict=True):
        if record.at == now:  # history: in the past, produced at once
            assert event.time < now
        else:  # live: the event time is the production time
            assert event.time == record.at
    history = [e for r, e in zip(recs, events(now), strict=True) if r.at == now]
    assert min(e.time for e in history) < now - timedelta(days=14)  # about three weeks
    assert [e.time for e in history] == sorted(e.time for e in history)


def test_the_same_now_gives_the_same_records() -> None:
    assert scenario(DEFAULT_NOW) == scenario(DEFAULT_NOW)
    later = DEFAULT_NOW + timedelta(days=1)
    assert {e.id for e in events(DEFAULT_NOW)}.isdisjoint(e.id for e in events(later))


def test_a_naive_now_or_a_too_short_live_part_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        scenario(datetime(2026, 11, 24, 11, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="live_seconds"):
        scenario(DEFAULT_NOW, live_seconds=30)


def test_a_longer_live_part_stretches_the_rollouts() -> None:
    recs = records(DEFAULT_NOW, 300.0)
    assert max(r.at for r in recs) <= DEFAULT_NOW + timedelta(seconds=300)
    assert max(r.at for r in recs) > DEFAULT_NOW + timedelta(seconds=250)
    state = apply_all([decode(r) for r in recs], catalog())
    downtime = {
        r.service: a.downtime
        for r in state.rollouts.values()
        if (a := availability(r, DEFAULT_NOW + timedelta(seconds=301)))
    }
    assert downtime[CHECKOUT.service] > 5
    assert downtime[STOREFRONT.service] == downtime[GATEWAY.service] == 0


# --- the catalog --------------------------------------------------------------------------


def test_the_catalog_owns_every_service_and_spans_time_zones() -> None:
    cat = demo_catalog()
    assert cat == catalog()
    assert {cat.owner(s) for s in SERVICES} == set(TEAMS)
    assert cat.policy("storefront").calendar.timezone == "America/New_York"
    assert cat.defaults.calendar.timezone == "Europe/Paris"
    assert all(cat.policy(t).calendar.holidays for t in TEAMS)


# --- the story, as golive sees it at the end of the live part ---------------------------------


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_the_release_is_open_on_track_to_be_late_with_overdue_and_corrective_work(
    now: datetime,
) -> None:
    state, end = final_state(now), the_end(now)
    release = state.releases[release_id(now)]
    assert release.is_open
    assert release.environment == "prod"
    assert set(release.services) == set(SERVICES)
    assert release.target_date is not None
    assert release.target_date > end
    assert (schedule_slip(release) or timedelta()) > timedelta(0)

    done = progress(state, release.id, end)
    assert done.ratio is not None
    assert 0.5 < done.ratio < 1
    assert 28 <= done.total <= 35
    assert done.overdue_by_team.get("data", 0) >= 1
    corrective = [t for t in state.tasks.values() if t.kind == "corrective"]
    assert any(not t.is_done and t.release == release.id for t in corrective)

    prediction = forecast(state, release, catalog(), end)
    assert prediction.basis == "throughput"
    assert sum(prediction.history) >= 15
    assert at_risk(release, prediction) is not None

    by_id = {o.objective.id: o for o in objectives(state, release, end)}
    assert by_id["downtime"].met is False  # the checkout rollout went over the budget
    assert by_id["done"].met is False


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_the_data_team_is_idle_and_the_others_are_not(now: datetime) -> None:
    state, end = final_state(now), the_end(now)
    statuses = {team: team_status(state, team, catalog(), end) for team in TEAMS}
    assert statuses["data"].idle
    assert statuses["data"].open_tasks > 0
    calendar = catalog().policy("data").calendar
    last_day = calendar.business_days_before(now, DATA_LAST_ACTIVE)[0]
    assert statuses["data"].last_activity is not None
    assert calendar.local_date(statuses["data"].last_activity) == last_day
    busy = {team: s for team, s in statuses.items() if team != "data"}
    assert not any(s.idle for s in busy.values()), busy
    assert all(s.last_activity is not None and s.last_activity >= now for s in busy.values())


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_the_live_rollouts_one_down_one_clean_one_failed(now: datetime) -> None:
    state, end = final_state(now), the_end(now)
    rollouts = {r.service: r for r in state.rollouts.values()}
    assert set(rollouts) == {CHECKOUT.service, STOREFRONT.service, GATEWAY.service}
    measured = {s: availability(r, end) for s, r in rollouts.items()}
    assert all(a is not None and a.finished for a in measured.values())
    checkout, storefront = measured[CHECKOUT.service], measured[STOREFRONT.service]
    assert checkout is not None
    assert 5 < checkout.downtime < 12
    assert storefront is not None
    assert storefront.downtime == storefront.degraded == 0
    assert rollouts[CHECKOUT.service].outcome == "succeeded"
    assert rollouts[STOREFRONT.service].outcome == "succeeded"
    assert rollouts[GATEWAY.service].outcome == "failed"
    for rollout in rollouts.values():
        assert rollout.desired == 4
        assert rollout.min_healthy_percent == 50
        assert len(rollout.samples) >= 4


@pytest.mark.parametrize("now", NOWS.values(), ids=NOWS.keys())
def test_dora_shows_the_failed_deployment_and_its_recovery(now: datetime) -> None:
    state, end = final_state(now), the_end(now)
    payments = dora(state, "payments-api", "prod", WINDOWS["30d"], end)
    assert payments.deployments == 3  # 2.2.1, 2.3.0 (failed), 2.3.1 (hotfix)
    assert payments.change_failure_ratio is not None
    assert payments.change_failure_ratio > 0
    assert len(payments.recovery_times) == 1
    assert 0 < payments.recovery_times[0] < 3600  # the rollback came within the hour
    assert payments.lead_time(0.5) is not None

    checkout = dora(state, "checkout", "prod", WINDOWS["7d"], end)
    assert checkout.deployments >= 1
    assert checkout.change_failure_ratio == 0
    assert len(checkout.lead_times) >= 1  # 1.4.2, shipped live
    gateway = dora(state, "api-gateway", "prod", WINDOWS["7d"], end)
    assert gateway.failed_deployments == 1  # the failed live rollout


def test_the_story_does_not_depend_on_delivery_order() -> None:
    """Kafka keeps order per key only: any interleaving must tell the same story."""
    shuffled = list(events(DEFAULT_NOW))
    random.Random(7).shuffle(shuffled)
    assert apply_all(shuffled, catalog()) == final_state(DEFAULT_NOW)
