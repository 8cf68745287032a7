"""Process-level tuning of `golive run` (docs/performance.md)."""

from __future__ import annotations

import gc

from golive.runtime import GC_THRESHOLDS, tune_allocator, tune_garbage_collector


def test_golive_run_scans_young_objects_less_often_than_the_default() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] >= 100 * 700  # CPython's default first threshold is 700
    finally:
        gc.set_threshold(*before)


def test_the_allocator_takes_fixed_thresholds_on_glibc() -> None:
    # The machines golive is built and tested on run glibc; elsewhere nothing is tuned.
    import platform

    if platform.libc_ver()[0] != "glibc":
        assert tune_allocator() is False
        return
    assert tune_allocator() is True
