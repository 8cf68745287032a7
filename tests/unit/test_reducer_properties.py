"""Property tests: the state is a function of the *set* of events applied.

Shuffled delivery of the same events gives the same state and the same KPIs; applying
an event again changes nothing, even without the `seen` guard for the entity reducers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golive.contract import Event
from golive.domain.catalog import parse_catalog
from golive.domain.dora import dora_all
from golive.domain.releases import objectives, progress
from golive.domain.rollouts import availability
from golive.domain.state import ENTITY_FIELDS, State, apply, apply_all, touches
from golive.domain.teams import ActivityFolding, all_team_statuses, apply_counting_activity
from tests.unit.events import at, cdevent, deployed, incident, release, rolledback, rollout, task

CATALOG = parse_catalog({"services": {"checkout": {"team": "payments"}}})
NOW = at(days=3)

minutes = st.integers(min_value=0, max_value=600)
services = st.sampled_from(["checkout", "search"])
versions = st.sampled_from(["1.0", "1.1", "1.2"])
envs = st.sampled_from(["prod", "staging"])
task_ids = st.sampled_from(["T1", "T2", "T3"])
rollout_ids = st.sampled_from(["r1", "r2"])
incident_ids = st.sampled_from(["i1", "i2"])
teams = st.sampled_from(["payments", "storefront"])


def _deployed(m: int, s: str, v: str, e: str) -> Event:
    return deployed(s, v, env=e, time=at(m), artifact=f"pkg:oci/{s}@{v}")


event_strategy: st.SearchStrategy[Event] = st.one_of(
    st.builds(_deployed, minutes, services, versions, envs),
    st.builds(lambda m, s, v: rolledback(s, v, time=at(m)), minutes, services, versions),
    st.builds(
        lambda m, p, i, s: incident(p, i, s, time=at(m)),
        minutes,
        st.sampled_from(["detected", "reported", "resolved"]),
        incident_ids,
        services,
    ),
    st.builds(
        lambda m, r, s, v: rollout(
            "started",
            r,
            time=at(m),
            service=s,
            environment="prod",
            fromVersion="1.0",
            toVersion=v,
            desiredInstances=3,
            minHealthyPercent=50,
        ),
        minutes,
        rollout_ids,
        services,
        versions,
    ),
    st.builds(
        lambda m, r, o, n: rollout("progressed", r, time=at(m), readyOld=o, readyNew=n),
        minutes,
        rollout_ids,
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    st.builds(
        lambda m, r, o: rollout("finished", r, time=at(m), outcome=o),
        minutes,
        rollout_ids,
        st.sampled_from(["succeeded", "failed", "rolledback"]),
    ),
    st.builds(
        lambda m, t, team, due: task(
            "scheduled", t, time=at(m), release="R1", team=team, dueDate=at(due).isoformat()
        ),
        minutes,
        task_ids,
        teams,
        minutes,
    ),
    st.builds(
        lambda m, t, status: task("updated", t, time=at(m), status=status),
        minutes,
        task_ids,
        st.sampled_from(["todo", "in_progress", "blocked", "done"]),
    ),
    st.builds(
        lambda m, d: release(
            "planned",
            "R1",
            time=at(m),
            targetDate=at(days=d).isoformat(),
            services=["checkout"],
            objectives=[{"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.2}],
        ),
        minutes,
        st.integers(1, 5),
    ),
    st.builds(
        lambda m, d: release("updated", "R1", time=at(m), targetDate=at(days=d).isoformat()),
        minutes,
        st.integers(1, 5),
    ),
    st.builds(
        lambda m, c: cdevent("change.created", c, {}, time=at(m)),
        minutes,
        st.sampled_from(["c1", "c2"]),
    ),
    st.builds(
        lambda m, c: cdevent("change.merged", c, {"repository": {"id": f"repo-{m}"}}, time=at(m)),
        minutes,
        st.sampled_from(["c1", "c2"]),
    ),
    st.builds(
        lambda m, v, c: cdevent(
            "artifact.packaged", f"pkg:oci/checkout@{v}", {"change": {"id": c}}, time=at(m)
        ),
        minutes,
        versions,
        st.sampled_from(["c1", "c2"]),
    ),
    st.builds(
        lambda m, team: cdevent(
            "pipelinerun.finished", f"run-{m}", {"outcome": "success"}, time=at(m), team=team
        ),
        minutes,
        teams,
    ),
)

event_sets = st.lists(event_strategy, min_size=1, max_size=30)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kpis(state: State) -> dict[str, Any]:
    """Every KPI the domain offers, for comparison."""
    release = state.releases.get("R1")
    return {
        "dora": [dora_all(state, timedelta(days=w), NOW) for w in (1, 7)],
        "rollouts": {rid: availability(r, NOW) for rid, r in state.rollouts.items()},
        "progress": progress(state, "R1", NOW),
        "objectives": objectives(state, release, NOW) if release else None,
        "teams": all_team_statuses(state, CATALOG, NOW),
    }


@SETTINGS
@given(events=event_sets, data=st.data())
def test_shuffled_delivery_gives_the_same_state_and_kpis(
    events: list[Event], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    in_order = apply_all(events, CATALOG)
    out_of_order = apply_all(shuffled, CATALOG)
    assert out_of_order == in_order
    assert kpis(out_of_order) == kpis(in_order)


@SETTINGS
@given(events=event_sets)
def test_delivering_everything_twice_changes_nothing(events: list[Event]) -> None:
    once = apply_all(events, CATALOG)
    assert apply_all(events, CATALOG, state=once) is once


@SETTINGS
@given(events=event_sets, data=st.data())
def test_entity_reducers_are_idempotent_without_the_dedupe_guard(
    events: list[Event], data: st.DataObject
) -> None:
    state = apply_all(events, CATALOG)
    again = data.draw(st.sampled_from(events))
    replayed = apply(replace(state, seen=frozenset()), again, CATALOG)
    # Only the activity counters may move; every entity must be unchanged.
    for name in ("releases", "tasks", "rollouts", "incidents", "changes", "artifacts", "timelines"):
        assert getattr(replayed, name) == getattr(state, name), name
    assert {t: (v.first_activity, v.last_activity) for t, v in replayed.teams.items()} == {
        t: (v.first_activity, v.last_activity) for t, v in state.teams.items()
    }


@SETTINGS
@given(events=event_sets)
def test_applying_to_only_the_touched_entities_gives_the_full_result(events: list[Event]) -> None:
    # What the store does: load what `touches` names, apply, write back.
    full = apply_all(events, CATALOG)
    partial_total = State()
    for event in events:
        keys = touches(event, CATALOG)
        partial = State(
            **{
                name: {
                    k: v
                    for k, v in getattr(partial_total, name).items()
                    if k in keys.get(name, set())
                }
                for name in ENTITY_FIELDS
            }
        )
        after = apply(partial, event, CATALOG)
        partial_total = replace(
            partial_total,
            **{
                name: {**getattr(partial_total, name), **getattr(after, name)}
                for name in ENTITY_FIELDS
            },
        )
    for name in ENTITY_FIELDS:
        assert getattr(partial_total, name) == getattr(full, name), name


@SETTINGS
@given(events=event_sets, data=st.data())
def test_teams_folded_in_parts_from_nothing_add_up_to_the_whole(
    events: list[Event], data: st.DataObject
) -> None:
    # What a store does with teams (`store.batches.ADDED_UP`): each batch folds its own
    # part and adds it to what is stored, whichever instance and order.
    cut = data.draw(st.integers(min_value=0, max_value=len(events)))
    whole = apply_all(events, CATALOG).teams
    first, second = apply_all(events[:cut], CATALOG).teams, apply_all(events[cut:], CATALOG).teams
    added = dict(first)
    for name, part in second.items():
        added[name] = added[name].plus(part) if name in added else part
    assert added == whole


@SETTINGS
@given(events=event_sets, data=st.data())
def test_a_fold_applied_in_parts_gives_the_fold_of_the_whole(
    events: list[Event], data: st.DataObject
) -> None:
    # What a batch folded ahead of its transaction does: slices, yielding between them.
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=4)))
    folding = ActivityFolding(State(), CATALOG)
    for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True):
        folding.apply(events[start:end])
    whole, buckets = apply_counting_activity(events, CATALOG, State())
    assert folding.state() == whole
    assert folding.buckets == buckets
    assert folding.state() == apply_all(events, CATALOG)
