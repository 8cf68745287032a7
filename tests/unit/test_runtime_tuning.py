"""Process-level tuning of `golive run` and its leader process (docs/performance.md)."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys

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
    if platform.libc_ver()[0] != "glibc":
        assert tune_allocator() is False
        return
    assert tune_allocator() is True


def test_the_leader_process_imports_no_http_or_kafka_client() -> None:
    # Its memory counts against the instance's (docs/performance.md): the clients for
    # Alertmanager, the webhook and Kafka belong to `golive run`'s process.
    code = (
        "import sys, golive.leader.worker; "
        "print(sorted({'httpx', 'aiokafka', 'fastapi', 'uvicorn'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
