"""`python -m bench.ecs` keeps working (at a tiny size; the figures are not checked)."""

from __future__ import annotations

import pytest

from bench import ecs


def test_ecs_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    ecs.main(["--tasks", "3", "--deployments", "2", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "2 rolling updates of 3 tasks" in out
    assert "ECS / native" in out
