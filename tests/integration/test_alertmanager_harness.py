"""The Alertmanager test harness against a real Alertmanager, without golive: alerts are
POSTed as golive's alerting would, with httpx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.alertmanager import (
    AlertmanagerError,
    AlertmanagerServer,
    alertmanager_binary,
)

LABELS = {
    "alertname": "GoliveReleaseAtRisk",
    "severity": "warning",
    "release": "2026-q4",
    "team": "payments",
}
BROKEN_CONFIG = "route:\n  receiver: nobody\nreceivers: []\n"


def _rfc3339(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _alert(
    starts_at: datetime, ends_at: datetime | None, summary: str = "forecast slips 3 days"
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": LABELS,
        "annotations": {"summary": summary},
        "startsAt": _rfc3339(starts_at),
        "generatorURL": "http://golive-0:8080/api/v1/releases/2026-q4",
    }
    if ends_at is not None:
        alert["endsAt"] = _rfc3339(ends_at)
    return alert


async def _post(am: AlertmanagerServer, alerts: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        response = await client.post(f"{am.url}/api/v2/alerts", json=alerts)
    assert response.status_code == 200, response.text


def _one_with_our_labels(alerts: list[dict[str, Any]]) -> bool:
    return len(alerts) == 1 and alerts[0]["labels"] == LABELS


def test_binary_is_found() -> None:
    assert Path(alertmanager_binary()).name in ("alertmanager", "prometheus-alertmanager")


@pytest.mark.asyncio
async def test_a_posted_alert_is_active_then_resolved_and_gone(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with AlertmanagerServer(tmp_dir=tmp_path) as am:
        await _post(am, [_alert(now, now + timedelta(hours=1))])

        [alert] = await am.wait_for_alerts(_one_with_our_labels, timeout=10)
        assert alert["annotations"] == {"summary": "forecast slips 3 days"}
        assert alert["status"]["state"] == "active"
        assert alert["generatorURL"] == "http://golive-0:8080/api/v1/releases/2026-q4"

        await _post(am, [_alert(now, datetime.now(UTC))])

        # Resolved alerts leave every view of the API, not only the active one.
        await am.wait_for_alerts(lambda alerts: alerts == [], timeout=10)
        assert await am.alerts(active=False) == []
        assert await am.alerts(active=True, silenced=True, inhibited=True) == []
        assert await am.received() == {"firing": 1, "resolved": 1}


@pytest.mark.asyncio
async def test_reposting_a_firing_alert_updates_it_without_a_duplicate(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with AlertmanagerServer(tmp_dir=tmp_path) as am:
        await _post(am, [_alert(now, now + timedelta(hours=1))])
        [first] = await am.wait_for_alerts(_one_with_our_labels, timeout=10)

        await _post(am, [_alert(now, now + timedelta(hours=1))])
        await _post(am, [_alert(now, now + timedelta(hours=2), summary="forecast slips 5 days")])

        [last] = await am.wait_for_alerts(
            lambda alerts: (
                _one_with_our_labels(alerts)
                and alerts[0]["annotations"]["summary"] == "forecast slips 5 days"
            ),
            timeout=10,
        )
        assert last["fingerprint"] == first["fingerprint"]
        assert last["startsAt"] == first["startsAt"]
        assert datetime.fromisoformat(last["updatedAt"]) > datetime.fromisoformat(
            first["updatedAt"]
        )
        assert await am.received() == {"firing": 3, "resolved": 0}


@pytest.mark.asyncio
async def test_an_alert_without_ends_at_expires_after_resolve_timeout(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with AlertmanagerServer(tmp_dir=tmp_path) as am:
        await _post(am, [_alert(now, None)])

        [alert] = await am.wait_for_alerts(_one_with_our_labels, timeout=10)

    ends_at = datetime.fromisoformat(alert["endsAt"])
    # resolve_timeout defaults to 5 minutes.
    assert timedelta(minutes=4) < ends_at - now < timedelta(minutes=6)


@pytest.mark.asyncio
async def test_alerts_filter_by_matchers(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    other = {**_alert(now, now + timedelta(hours=1)), "labels": {**LABELS, "release": "2027-q1"}}
    async with AlertmanagerServer(tmp_dir=tmp_path) as am:
        await am.post_alerts([_alert(now, now + timedelta(hours=1)), other])
        await am.wait_for_alerts(lambda alerts: len(alerts) == 2, timeout=10)

        filtered = await am.alerts(filter=['release="2027-q1"', 'team="payments"'])

    assert [a["labels"]["release"] for a in filtered] == ["2027-q1"]


@pytest.mark.asyncio
async def test_wait_for_alerts_times_out_showing_the_last_alerts(tmp_path: Path) -> None:
    async with AlertmanagerServer(tmp_dir=tmp_path) as am:
        with pytest.raises(AssertionError, match=r"last alerts: \[\]"):
            await am.wait_for_alerts(lambda alerts: len(alerts) == 1, timeout=0.5)


@pytest.mark.asyncio
async def test_startup_failure_raises_with_the_alertmanager_log(tmp_path: Path) -> None:
    with pytest.raises(AlertmanagerError, match=r"(?s)exited with code [1-9].*undefined receiver"):
        async with AlertmanagerServer(tmp_dir=tmp_path, config=BROKEN_CONFIG):
            pass
