"""`make bench` must keep working: the throughput benchmark at a tiny size, against the
test broker and Postgres, completes and reports every figure (not a performance test:
the figures are not judged here, `make bench` reports them against the targets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(180)
def test_the_throughput_benchmark_runs_end_to_end_and_reports_every_figure(
    kafka_bootstrap: str, postgres_dsn: str, tmp_path: Path
) -> None:
    output = tmp_path / "throughput.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.throughput",
            "--events",
            "8000",
            "--latency-events",
            "300",
            "--rate",
            "300",
            "--services",
            "20",
            "--teams",
            "5",
            "--bootstrap",
            kafka_bootstrap,
            "--database-url",
            postgres_dsn,
            "--output",
            str(output),
        ],
        # Batches smaller than the tiny stream, so that there is a rate to measure after
        # the first one (the child `golive run` inherits the environment).
        # The latency floor's consumer waits as long as golive's (set here, both read it).
        env={**os.environ, "GOLIVE_KAFKA_MAX_BATCH": "1000", "GOLIVE_KAFKA_FETCH_MAX_WAIT": "50ms"},
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(output.read_text())
    assert result["produce"]["events"] == 8000
    assert result["raw"]["events"] == 8000
    assert result["golive"]["events"] == 8000  # and as many events stored (checked inside)
    assert result["latency"]["events"] == 300
    # The latency phase began once the leader had derived what the 8,000 events queued.
    settled = result["golive"]["leader_caught_up"]
    assert settled["queued_rows"] >= 0
    assert settled["seconds"] >= 0
    assert "leader caught up before it" in done.stdout
    assert (
        0
        < result["latency"]["p50_ms"]
        <= result["latency"]["p99_ms"]
        <= result["latency"]["max_ms"]
    )
    floor = result["latency_floor"]  # a bare consumer, its own topic, a third as many
    assert floor["events"] == 100
    assert 0 < floor["p50_ms"] <= floor["p99_ms"] <= floor["max_ms"]
    assert floor["fetch_max_wait_ms"] == 50
    assert "latency floor (bare consumer)" in done.stdout
    assert result["golive"]["process"]["peak_rss_mib"] > 10
    costs = result["golive"]["costs"]  # from golive's /metrics
    assert costs["batches"] >= 8  # batches of 1,000
    assert costs["batch_mean_seconds"] > 0
    assert costs["evaluations"] >= 1  # one at start
    assert costs["evaluation_mean_seconds"] > 0
    scaled = result["scale_out"]  # two instances in a group of their own, fresh database
    assert scaled["instances"] == 2
    assert scaled["events"] == 8300  # the topic again: the records of both phases
    assert scaled["process"]["instances"] == 2
    assert scaled["costs"]["batches"] >= 8
    assert (
        scaled["ratio_to_one"]
        == scaled["events_per_second"] / result["golive"]["events_per_second"]
    )
    assert set(result["targets"]) == {
        "end_to_end_events_per_s",
        "ratio_to_raw",
        "latency_p99_ms",
        "peak_rss_mb",
    }
    rss = result["targets"]["peak_rss_mb"]
    # MiB to MB; approx because the bench multiplies by one factor and float rounding
    # makes x * (a / b) and x * a / b differ in the last bit for some x.
    assert rss["measured"] == pytest.approx(
        result["golive"]["process"]["peak_rss_mib"] * 2**20 / 10**6, rel=1e-12
    )
    assert rss["target"] == 300
    assert "golive end to end" in done.stdout
    assert "golive end to end, 2 instances" in done.stdout
