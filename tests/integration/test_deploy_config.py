"""The example deployment files in deploy/: Prometheus' own tools and a real Prometheus and
Alertmanager accept them, the health rules pass their unit tests and say what deploy/README.md
documents, and Alertmanager routes and inhibits golive's alerts as the config intends."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.alertmanager import AlertmanagerServer, amtool_binary
from tests.integration.prometheus import PrometheusServer, promtool_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
RULES = PROMETHEUS_DIR / "golive-rules.yml"
RULE_TESTS = PROMETHEUS_DIR / "golive-rules.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
README = DEPLOY / "README.md"
TOOL_TIMEOUT = 60

HEALTH_ALERTS = {
    "GoliveDown": "critical",
    "GoliveNoLeader": "critical",
    "GoliveManyLeaders": "critical",
    "GoliveConsumerLagGrowing": "warning",
    "GoliveDeadLetters": "warning",
    "GoliveEvaluationStalled": "critical",
    "GoliveIngestErrors": "warning",
    "GoliveNotReady": "warning",
    "GoliveAlertsUndelivered": "warning",
}
ANNOTATIONS = {"summary", "description", "action", "runbook"}
RUNBOOK = "https://github.com/golive/golive/blob/main/docs/operations.md#{anchor}"


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False, cwd=cwd
    )


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def _in_future(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def test_promtool_accepts_the_health_rules() -> None:
    checked = _run([promtool_binary(), "check", "rules", str(RULES)])

    assert checked.returncode == 0, _output(checked)
    assert f"SUCCESS: {len(HEALTH_ALERTS)} rules found" in _output(checked)


def test_the_health_rules_pass_their_unit_tests() -> None:
    # cwd: rule_files in the test file are relative to it.
    tested = _run([promtool_binary(), "test", "rules", RULE_TESTS.name], cwd=PROMETHEUS_DIR)

    assert tested.returncode == 0, _output(tested)
    assert "SUCCESS" in _output(tested)


def test_every_health_alert_has_firing_and_quiet_unit_tests() -> None:
    text = RULE_TESTS.read_text()
    # `alertname: X` followed by `exp_alerts: []` is a case where X must not fire.
    quiet = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts: \[\]", text))
    firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:", text))

    assert firing == set(HEALTH_ALERTS)
    assert quiet == set(HEALTH_ALERTS)


# rule_files resolve against the config file's directory, wherever promtool runs.
@pytest.mark.parametrize("cwd", [PROMETHEUS_DIR, DEPLOY.parent], ids=["own-dir", "repo-root"])
def test_promtool_accepts_the_example_prometheus_config(cwd: Path) -> None:
    checked = _run(
        [promtool_binary(), "check", "config", str(PROMETHEUS_CONFIG.relative_to(cwd))], cwd=cwd
    )

    assert checked.returncode == 0, _output(checked)
    assert "SUCCESS: 1 rule files found" in _output(checked)
    assert f"SUCCESS: {len(HEALTH_ALERTS)} rules found" in _output(checked)


@pytest.mark.asyncio
async def test_prometheus_loads_exactly_the_documented_alerts(tmp_path: Path) -> None:
    async with (
        PrometheusServer([], rule_files=[RULES], tmp_dir=tmp_path) as prom,
        httpx.AsyncClient(timeout=5, trust_env=False) as client,
    ):
        body = (await client.get(f"{prom.url}/api/v1/rules", params={"type": "alert"})).json()

    [group] = body["data"]["groups"]
    assert group["name"] == "golive-health"
    rules: dict[str, dict[str, Any]] = {rule["name"]: rule for rule in group["rules"]}
    assert {name: rule["labels"].get("severity") for name, rule in rules.items()} == HEALTH_ALERTS
    for name, rule in rules.items():
        assert set(rule["annotations"]) == ANNOTATIONS, name
        assert all(value.strip() for value in rule["annotations"].values()), name
        assert rule["annotations"]["runbook"] == RUNBOOK.format(anchor=name.lower()), name


@pytest.mark.asyncio
async def test_prometheus_evaluates_the_rules_and_finds_golive_down_without_targets(
    tmp_path: Path,
) -> None:
    # No golive target at all: GoliveDown's absent() branch goes pending, nothing else.
    async with (
        PrometheusServer([], rule_files=[RULES], tmp_dir=tmp_path) as prom,
        httpx.AsyncClient(timeout=5, trust_env=False) as client,
    ):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            body = (await client.get(f"{prom.url}/api/v1/rules", params={"type": "alert"})).json()
            rules = body["data"]["groups"][0]["rules"]
            # health is "unknown" until a rule's first evaluation.
            if all(rule["health"] != "unknown" for rule in rules) or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)

    assert {
        rule["name"]: (rule["health"], rule.get("lastError", "")) for rule in rules
    } == dict.fromkeys(HEALTH_ALERTS, ("ok", ""))
    assert {rule["name"]: rule["state"] for rule in rules} == {
        name: "pending" if name == "GoliveDown" else "inactive" for name in HEALTH_ALERTS
    }


def test_deploy_readme_documents_every_health_alert() -> None:
    text = README.read_text()

    documented = set(re.findall(r"^\| `(Golive\w+)` \|", text, flags=re.MULTILINE))

    assert documented == set(HEALTH_ALERTS)


def test_amtool_accepts_the_example_alertmanager_config() -> None:
    checked = _run([amtool_binary(), "check-config", str(ALERTMANAGER_CONFIG)])

    assert checked.returncode == 0, _output(checked)
    assert "SUCCESS" in _output(checked)


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=GoliveDown", "severity=critical", "instance=golive-0:8080"], "pager"),
        (["alertname=GoliveDeadLetters", "severity=warning", "reason=not_json"], "chat"),
        (
            ["alertname=GoliveRolloutStuck", "severity=critical", "team=payments"],
            "payments,pager",
        ),
        (["alertname=GoliveTaskOverdue", "severity=warning", "team=payments"], "payments,chat"),
        (["alertname=GoliveTeamIdle", "severity=warning", "team=search"], "chat"),
        (["alertname=Unlabelled"], "chat"),
    ],
)
def test_alertmanager_routes_by_team_and_severity(labels: list[str], receivers: str) -> None:
    routed = _run(
        [
            amtool_binary(),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            *labels,
        ]
    )

    assert routed.returncode == 0, _output(routed)
    assert routed.stdout.strip() == receivers


def test_golive_down_inhibits_every_other_health_alert_by_name() -> None:
    text = ALERTMANAGER_CONFIG.read_text()

    [names] = re.findall(r'alertname=~"([\w|]+)"', text)

    assert set(names.split("|")) == set(HEALTH_ALERTS) - {"GoliveDown"}


def _alert(**labels: str) -> dict[str, Any]:
    return {
        "labels": labels,
        "annotations": {"summary": labels["alertname"]},
        "endsAt": _in_future(),
        "generatorURL": "http://golive.test/",
    }


def _key(alert: dict[str, Any]) -> tuple[str, str]:
    labels = alert["labels"]
    return labels["alertname"], labels.get("release") or labels.get("instance") or ""


@pytest.mark.asyncio
async def test_alertmanager_inhibits_late_over_at_risk_and_down_over_its_instance(
    tmp_path: Path,
) -> None:
    alerts = [
        _alert(alertname="GoliveReleaseLate", severity="critical", release="2026-q4"),
        _alert(alertname="GoliveReleaseAtRisk", severity="warning", release="2026-q4"),
        _alert(alertname="GoliveReleaseAtRisk", severity="warning", release="2027-q1"),
        _alert(alertname="GoliveDown", severity="critical", job="golive", instance="golive-0:8080"),
        _alert(
            alertname="GoliveNotReady", severity="warning", job="golive", instance="golive-0:8080"
        ),
        _alert(
            alertname="GoliveNotReady", severity="warning", job="golive", instance="golive-1:8080"
        ),
        _alert(alertname="GoliveNoLeader", severity="critical"),
    ]
    inhibited = {("GoliveReleaseAtRisk", "2026-q4"), ("GoliveNotReady", "golive-0:8080")}
    async with AlertmanagerServer(tmp_dir=tmp_path, config=ALERTMANAGER_CONFIG.read_text()) as am:
        await am.post_alerts(alerts)

        everything = await am.wait_for_alerts(
            lambda got: {_key(a) for a in got if a["status"]["inhibitedBy"]} == inhibited,
            timeout=15,
            inhibited=True,
        )
        shown = await am.alerts()

    assert len(everything) == len(alerts)
    assert {_key(a) for a in shown} == {_key(a) for a in alerts} - inhibited
    assert all(a["status"]["state"] == "suppressed" for a in everything if _key(a) in inhibited)
