"""`python -m bench.parts` keeps working (its figures are not judged here)."""

from __future__ import annotations

import gc
import re

import pytest

from bench import parts


def test_the_parts_benchmark_times_decode_reduce_and_encode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    thresholds = gc.get_threshold()
    try:
        code = parts.main(["--events", "1000", "--services", "5", "--teams", "2", "--repeat", "1"])
    finally:
        gc.set_threshold(*thresholds)
    assert code == 0
    out = capsys.readouterr().out
    for part in ("decode", "reduce", "encode"):
        match = re.search(rf"{part}\s+([0-9.]+) µs an event", out)
        assert match is not None, out
        assert float(match[1]) > 0
