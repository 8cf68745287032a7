"""The dashboards as code: the committed JSON is what the source generates, and every
panel carries a description, a unit and thresholds (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grafana.boards import DASHBOARDS
from grafana.build import OUTPUT, drifted, render

PROVISIONING = Path(__file__).resolve().parents[2] / "grafana" / "provisioning"


def _dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads((OUTPUT / name).read_text()) for name in sorted(DASHBOARDS)}


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_the_committed_json_is_what_the_source_generates() -> None:
    assert drifted() == [], "grafana/dashboards drifted from grafana/: run `make dashboards`"


def test_the_drift_check_notices_an_edited_a_missing_and_a_stray_file(tmp_path: Path) -> None:
    for name, text in render().items():
        (tmp_path / name).write_text(text)
    assert drifted(tmp_path) == []
    first, second = sorted(DASHBOARDS)[:2]
    (tmp_path / first).write_text((tmp_path / first).read_text().replace("golive", "Golive", 1))
    (tmp_path / second).unlink()
    (tmp_path / "hand-made.json").write_text("{}")
    assert drifted(tmp_path) == sorted([first, second, "hand-made.json"])


def test_the_five_dashboards_have_unique_uids_and_link_to_each_other() -> None:
    boards = _dashboards()
    titles = {b["title"] for b in boards.values()}
    assert titles == {
        "golive / Release overview",
        "golive / DORA",
        "golive / Rollouts",
        "golive / Teams",
        "golive / Health",
    }
    assert len({b["uid"] for b in boards.values()}) == 5
    for board in boards.values():
        assert board["tags"] == ["golive"]
        assert board["links"][0]["tags"] == ["golive"]
        assert board["description"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_has_a_description_a_unit_and_thresholds(name: str) -> None:
    board = _dashboards()[name]
    panels = _panels(board)
    assert panels
    for panel in panels:
        where = f"{name}: panel {panel['title']!r}"
        assert len(panel.get("description", "")) >= 20, f"{where} has no description"
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{where} has no unit"
        steps = defaults.get("thresholds", {}).get("steps", [])
        assert steps, f"{where} has no thresholds"
        assert steps[0]["value"] is None, f"{where}: thresholds without a base colour"
        values = [s["value"] for s in steps[1:]]
        assert values == sorted(values), f"{where}: thresholds out of order"
        if len(steps) == 1:  # a neutral colour: the description must say why
            assert "no good or bad" in panel["description"], where
        assert panel["targets"], f"{where} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}, where
            assert target["expr"].strip(), where
        # A table's columns each carry their own unit and thresholds.
        for override in panel["fieldConfig"].get("overrides", []):
            ids = {p["id"] for p in override["properties"]}
            assert {"unit", "thresholds"} <= ids, f"{where}: column {override['matcher']}"


def test_panels_do_not_overlap_and_fit_the_grid() -> None:
    for name, board in _dashboards().items():
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, f"{name}: {panel['title']} overflows"
            area = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & area, f"{name}: {panel['title']} overlaps another panel"
            cells |= area


def test_the_provisioning_points_grafana_at_the_datasource_and_folder_the_dashboards_use() -> None:
    datasource = (PROVISIONING / "datasources" / "prometheus.yaml").read_text()
    assert "uid: prometheus" in datasource
    provider = (PROVISIONING / "dashboards" / "golive.yaml").read_text()
    assert "path: /var/lib/grafana/dashboards/golive" in provider
    compose = (Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml").read_text()
    assert "../grafana/dashboards:/var/lib/grafana/dashboards/golive:ro" in compose
