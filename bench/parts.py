"""`python -m bench.parts`: the CPU cost of ingest's pure parts, per event, in-process.

No broker, no database: the benchmark stream's records (`bench.fixtures`) through
1. **decode**: `decode_record`, the bytes and headers of a record to an `Event`;
2. **reduce**: the fold of the decoded events into a State (`apply_counting_activity`,
   what each batch does once its entities are loaded);
3. **encode**: the JSON text of every entity the fold made (`codec.encode_text`, what
   each batch writes back), per event.

Each is timed `--repeat` times; the median goes to stdout, in µs per event. The
collector runs with `golive run`'s thresholds (`runtime.GC_THRESHOLDS`), or CPython's
defaults with `--default-gc`: run both to see what collection costs. Figures from one
run compare with each other; across runs, the machine's noise is in them.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.fixtures import stream
from bench.mix import Mix, catalog_of
from golive.contract import Event, Rejection, decode_record
from golive.domain.state import ENTITY_FIELDS, State
from golive.domain.teams import apply_counting_activity
from golive.runtime import GC_THRESHOLDS
from golive.store import codec


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.parts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--default-gc", action="store_true", help="CPython's GC thresholds")
    return parser.parse_args(argv)


def median_seconds(work: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mix = Mix(events=args.events, services=args.services, teams=args.teams)
    records = list(itertools.islice(stream(mix), args.events))
    catalog = catalog_of(mix)
    not_after = datetime.now(UTC) + timedelta(days=3650)  # the stream's times are future
    if not args.default_gc:
        gc.set_threshold(*GC_THRESHOLDS)

    def decode() -> list[Event]:
        events = []
        for record in records:
            event = decode_record(record.value, list(record.headers), not_after=not_after)
            if isinstance(event, Rejection):
                raise RuntimeError(f"a benchmark record was rejected: {event}")
            events.append(event)
        return events

    events = decode()
    state, _ = apply_counting_activity(events, catalog, State())
    entities = [e for name in ENTITY_FIELDS for e in getattr(state, name).values()]
    timings = {
        "decode": median_seconds(decode, args.repeat),
        "reduce": median_seconds(
            lambda: apply_counting_activity(events, catalog, State()), args.repeat
        ),
        "encode": median_seconds(lambda: [codec.encode_text(e) for e in entities], args.repeat),
    }
    thresholds = gc.get_threshold()
    print(
        f"{args.events:,} benchmark records, {len(entities):,} entities, GC thresholds "
        f"{thresholds}, median of {args.repeat}:"
    )
    for part, seconds in timings.items():
        print(f"  {part:<7} {seconds / args.events * 1e6:6.1f} µs an event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
