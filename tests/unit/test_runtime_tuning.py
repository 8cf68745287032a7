"""Process-level tuning of `golive run` (docs/performance.md)."""

from __future__ import annotations

import gc

from golive.app import GC_THRESHOLDS, tune_garbage_collector


def test_golive_run_scans_young_objects_less_often_than_the_default() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] >= 100 * 700  # CPython's default first threshold is 700
    finally:
        gc.set_threshold(*before)
