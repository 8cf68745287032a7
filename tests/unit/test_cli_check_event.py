"""`golive check-event`: the normalised event per file, or the reason; exit 1 on rejection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.cli import main
from tests.conftest import conformance_files

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


def test_accepts_every_conformance_file_in_one_call(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in conformance_files()]
    assert main(["check-event", "--json", *files]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(files)
    assert all(line["accepted"] for line in lines)


def test_prints_the_normalised_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-event", "--json", str(EXAMPLES / "golive-rollout.started.json")]) == 0
    event = json.loads(capsys.readouterr().out)["event"]
    assert event["type"] == "dev.cdeventsx.golive-rollout.started.0.1.0"
    assert event["time"] == "2026-12-10T10:00:00Z"
    assert event["entities"] == {
        "rollout": "ecs-deploy-7f3a",
        "service": "checkout",
        "environment": "prod",
        "version": "1.4.2",
    }


def test_exits_1_and_gives_the_reason_when_any_file_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"context": {"specversion": "0.5.1", "id": "x", "source": "/s", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-11-24T10:00:00"}, "subject": {"id": "a"}}'
    )
    good = EXAMPLES / "golive-task.updated.json"
    assert main(["check-event", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{good}: OK" in out
    assert f"{bad}: REJECTED (invalid_timestamp)" in out
    assert "has no time zone" in out


def test_binary_mode_through_header_flags(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "golive-task.updated.json"
    doc = json.loads(path.read_text())
    args = [
        "--header",
        "ce_specversion=1.0",
        "--header",
        f"ce_id={doc['context']['id']}",
        "--header",
        f"ce_source={doc['context']['source']}",
        "--header",
        f"ce_type={doc['context']['type']}",
        "--header",
        "ce_team=payments",
    ]
    assert main(["check-event", "--json", *args, str(path)]) == 0
    event = json.loads(capsys.readouterr().out)["event"]
    assert (event["mode"], event["team"]) == ("binary", "payments")


def test_unreadable_file_counts_as_rejected(tmp_path: Path) -> None:
    assert main(["check-event", str(tmp_path / "missing.json")]) == 1
