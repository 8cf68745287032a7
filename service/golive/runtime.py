"""Process-level tuning of golive's long-running processes (`golive run` and its leader
process), not of the tools: the cycle collector and the C allocator
(docs/performance.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

# CPython's cycle collector scans the young objects every 700 container allocations. A
# batch allocates millions (parsed records, events, entities), almost none in cycles,
# and keeps them alive until it commits, so each scan finds them all again: decoding a
# benchmark record takes 33 µs with the default thresholds, 20 µs without the collector.
# A first threshold above what a batch keeps alive makes the scans find mostly freed
# objects: in `bench.throughput`, collection took 2.9 of golive's 23.2 CPU seconds with
# (50000, 20, 10), 0.5 of 18.4 with these (docs/performance.md). Objects in cycles are
# still collected, only in fewer, larger passes.
GC_THRESHOLDS = (300_000, 10, 10)


def tune_garbage_collector() -> None:
    """For a long-running ingest process (`golive run`), not for the tools."""
    gc.set_threshold(*GC_THRESHOLDS)


# glibc keeps memory freed by large objects (a batch's arrays, the documents it encodes,
# the Kafka fetch buffers) for reuse, raising its thresholds as it sees them, so a
# process's resident set stays near its largest batch ever and pieces of freed memory
# pile up between live ones. Fixed thresholds give blocks of 256 KiB and more straight
# back to the system, and trim the heap's top above that: in `bench.throughput`, the
# peak RSS of `golive run` fell from 262 to 232 MiB at the same rate.
MALLOC_THRESHOLD = 256 * 1024
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Fixed trim and mmap thresholds on glibc; elsewhere nothing (returns False)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    ok = all(mallopt(p, MALLOC_THRESHOLD) == 1 for p in (_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD))
    if not ok:
        log.debug("mallopt refused the thresholds: the allocator keeps its defaults")
    return ok


def tune_process() -> None:
    """Both, for a long-running golive process."""
    tune_garbage_collector()
    tune_allocator()
