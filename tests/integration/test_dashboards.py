"""Every panel query of every dashboard, run by a real Prometheus scraping a golive fed
with the demo scenario (issue 8): each is valid PromQL, returns data, and names only
metrics golive exports.

Variables are substituted as Grafana does: a query variable takes the values of its
`label_values()` from Prometheus (the first one for a single-valued variable, a regex of
all for "All"), a custom variable its current value; `$__rate_interval` and `$__range`
get what Grafana would give them for the range the test queries.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from golive.demo.scenario import demo_catalog_path, scenario
from grafana.boards import DASHBOARDS
from grafana.build import OUTPUT
from tests.integration.kafka import produce
from tests.integration.prometheus import PrometheusError, PrometheusServer
from tests.integration.service import running, service_env, wait_consumed

RANGE_SECONDS = 120  # the range the test queries: what Prometheus has scraped so far
BUILT_INS = {"$__rate_interval": "1m", "$__range": f"{RANGE_SECONDS}s"}
LIVE_SECONDS = 60.0  # the demo's live part, played in the past: its rollouts have finished

# PromQL, read only to find the metric names a query selects.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAMES = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan", "atan2"}
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (functions, keywords and labels left out)."""
    bare = _STRINGS.sub('""', expr)
    bare = _MATCHERS.sub("", bare)
    bare = _RANGES.sub("", bare)
    bare = _LABEL_LISTS.sub("", bare)
    return {n for n in _NAMES.findall(bare) if n.lower() not in _KEYWORDS}


def test_metric_names_reads_past_functions_labels_strings_and_durations() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (service, le) (rate(golive_x_bucket{a="b c"}[5m])))'
        " / on(service) group_left(kpi) golive_y > bool 1e3 or vector(0)"
        ' + (time() - golive_z{team=~"a|b"} offset 1h)'
    )
    assert metric_names(expr) == {"golive_x_bucket", "golive_y", "golive_z"}


async def _exported_names(url: str) -> set[str]:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def _regex_of(values: list[str]) -> str:
    # Grafana's Prometheus datasource: each value regex-escaped, joined with |.
    return "(" + "|".join(re.escape(v).replace("\\", "\\\\") for v in values) + ")"


async def _variables(board: dict[str, Any], prometheus: PrometheusServer) -> dict[str, str]:
    values: dict[str, str] = {}
    for variable in board.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable["type"] == "custom":
            values[name] = variable["current"]["value"]
            continue
        found = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["query"])
        assert found, f"{board['title']}: variable {name} is not label_values(): {variable}"
        options = sorted(await prometheus.label_values(found[2], found[1]))
        assert options, f"{board['title']}: variable ${name} has no value ({variable['query']})"
        values[name] = _regex_of(options) if variable.get("includeAll") else options[0]
    return values


def _substitute(expr: str, variables: dict[str, str]) -> str:
    for built_in, value in BUILT_INS.items():
        expr = expr.replace(built_in, value)
    return _VARIABLE.sub(lambda m: variables[m[1] or m[2]], expr)


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_every_panel_query_is_valid_promql_returns_data_and_uses_golive_metrics(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    env = service_env(
        kafka_bootstrap,
        topic,
        database_url,
        GOLIVE_EVALUATION_INTERVAL="1s",
        GOLIVE_CATALOG_FILE=str(demo_catalog_path()),
    )
    # The whole demo, history then live part, with its live rollouts already finished.
    start = datetime.now(UTC) - timedelta(seconds=LIVE_SECONDS + 30)
    records = scenario(start, live_seconds=LIVE_SECONDS)
    history = [(r.key, r.value, list(r.headers)) for r in records if r.at <= start]
    live = [(r.key, r.value, list(r.headers)) for r in records if r.at > start]
    async with running(env) as service:
        target = service.settings.http_listen
        async with PrometheusServer([target], scrape_interval="1s", tmp_dir=tmp_path) as prom:
            await prom.wait_for_target_up()
            await wait_consumed(database_url, await produce(kafka_bootstrap, topic, history))
            await prom.wait_for_value("golive_release_progress_ratio")
            # The live part after a scrape of the history: the counters' series exist,
            # so rates see these events.
            await wait_consumed(database_url, await produce(kafka_bootstrap, topic, live))
            await prom.wait_for_value("count(golive_rollout_latest_outcome)", lambda v: v >= 3)
            await prom.wait_for_value("sum(rate(golive_events_total[1m]))", lambda v: v > 0)
            # The rollout histograms first appear with the live rollouts: increase() over
            # them needs a few scrapes.
            await prom.wait_for_value(
                "min(count_over_time(golive_rollout_duration_seconds_count[1m]))",
                lambda v: v >= 3,
            )
            exported = await _exported_names(service.url)

            checked, failures = 0, []
            for name in sorted(DASHBOARDS):
                board = json.loads((OUTPUT / name).read_text())
                variables = await _variables(board, prom)
                for panel in (p for p in board["panels"] if p["type"] != "row"):
                    for target_query in panel["targets"]:
                        where = f"{name} / {panel['title']} / {target_query['refId']}"
                        expr = _substitute(target_query["expr"], variables)
                        names = metric_names(expr)
                        if not names:
                            failures.append(f"{where}: no golive metric in {expr}")
                        if names - exported:
                            failures.append(f"{where}: not exported by golive: {names - exported}")
                        try:
                            if target_query.get("instant"):
                                has_data = bool(await prom.query(expr))
                            else:
                                series = await prom.query_range(expr, seconds=RANGE_SECONDS)
                                has_data = any(s["values"] for s in series)
                        except PrometheusError as e:  # invalid PromQL
                            failures.append(f"{where}: {e}")
                            continue
                        if not has_data:
                            failures.append(f"{where}: no data for {expr}")
                        checked += 1
    assert not failures, "\n".join(failures)
    # Every panel of the five dashboards was run, not a handful.
    assert checked >= 60, checked
