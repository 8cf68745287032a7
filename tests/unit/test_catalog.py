"""The catalog file's mapping: defaults, per-team overrides, service owners, clear errors."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from golive.domain.catalog import CatalogError, parse_catalog, parse_duration


def test_empty_catalog_has_the_documented_defaults() -> None:
    catalog = parse_catalog({})
    policy = catalog.policy("anyone")
    assert policy.calendar.timezone == "UTC"
    assert policy.calendar.workdays == frozenset(range(5))
    assert policy.calendar.workhours == (time(9), time(18))
    assert policy.idle_after == timedelta(hours=4)
    assert policy.rollout_downtime_budget == timedelta(seconds=5)
    assert policy.rollout_stuck_after == timedelta(minutes=30)


def test_team_inherits_defaults_and_overrides_its_own_keys() -> None:
    catalog = parse_catalog(
        {
            "defaults": {
                "timezone": "Europe/Paris",
                "workdays": ["mon", "tue"],
                "holidays": ["2026-12-25"],
            },
            "teams": {"payments": {"idle_after": "6h", "workhours": ["08:30", "17:00"]}},
            "services": {"checkout": {"team": "payments"}},
        }
    )
    payments = catalog.policy("payments")
    assert payments.idle_after == timedelta(hours=6)
    assert payments.calendar.timezone == "Europe/Paris"
    assert payments.calendar.workdays == frozenset({0, 1})
    assert payments.calendar.holidays == frozenset({date(2026, 12, 25)})
    assert payments.calendar.workhours == (time(8, 30), time(17))
    assert catalog.owner("checkout") == "payments"
    assert catalog.owner("unknown") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5),
        ("30m", 1800),
        ("4h", 14400),
        ("1h30m", 5400),
        ("2d", 172800),
        ("250ms", 0.25),
        ("1w", 604800),
    ],
)
def test_durations_use_prometheus_units(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "4", "h", "4 hours", "-1h", "1h 30m"])
def test_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"defaults": {"timezone": "Mars/Olympus"}}, "defaults: .*Mars/Olympus"),
        (
            {"teams": {"payments": {"idle_after": "soon"}}},
            "teams.payments: 'soon' is not a duration",
        ),
        ({"teams": {"payments": {"idle": "4h"}}}, "teams.payments: unknown key"),
        ({"services": {"checkout": {"owner": "x"}}}, r"services.checkout: unknown key\(s\) owner"),
        ({"services": {"checkout": {"team": ""}}}, "services.checkout.team"),
        ({"defaults": {"workdays": ["monday"]}}, "defaults: .*monday"),
        ({"team": {}}, "unknown catalog section"),
    ],
)
def test_bad_catalog_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(data)
