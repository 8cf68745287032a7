"""`python -m bench.instructions`: the instructions an event of ingest's pure stages.

Seconds move with these shared machines (a third from one run to the next); the
instructions a stage executes do not. Each stage runs in a child Python under
`valgrind --tool=callgrind`, with `golive run`'s collector thresholds and a fixed hash
seed, once with its work and once without (loading the records and the modules), and
the difference is divided by the events the work handled:
1. **decode**: `decode_record` of `--events` records of the benchmark stream;
2. **fold**: `apply_counting_activity` of `--events` events onto the state of as many
   before them (the entities a batch finds in the cache), then `codec.encode_text` of
   every entity the fold changed (what a batch writes back).

To compare two commits, run it in a worktree of each: the counts are the same on any
machine of the kind, for the same code and Python. A change of 1 % is a change.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fixtures import stream
from bench.mix import Mix, catalog_of
from golive.contract import Event, Rejection, decode_record
from golive.domain.state import ENTITY_FIELDS, State
from golive.domain.teams import apply_counting_activity
from golive.runtime import GC_THRESHOLDS
from golive.store import codec

STAGES = ("decode", "fold")
# The stream's times run into the future: no record may be refused for its time.
NOT_AFTER = datetime(2099, 1, 1, tzinfo=UTC)
_COLLECTED = re.compile(r"Collected : (\d+)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=10_000, help="events each stage handles")
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    # What the parent asks of each child it runs under callgrind.
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--idle", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


Records = list[tuple[bytes, list[tuple[str, bytes]]]]


def decode_all(records: Records) -> list[Event]:
    events = []
    for value, headers in records:
        event = decode_record(value, headers, not_after=NOT_AFTER)
        if isinstance(event, Rejection):
            raise RuntimeError(f"a benchmark record was rejected: {event}")
        events.append(event)
    return events


def run_stage(stage: str, records: Records, mix: Mix, *, idle: bool) -> int:
    """The stage's work on `records` (nothing but the loading when `idle`); the number of
    events the work handled."""
    if stage == "decode":
        if not idle:
            decode_all(records)
        return len(records)
    # fold: the first half makes the state the second half is folded onto.
    events = decode_all(records)
    half = len(events) // 2
    catalog = catalog_of(mix)
    before, _ = apply_counting_activity(events[:half], catalog, State())
    if not idle:
        after, _ = apply_counting_activity(events[half:], catalog, before)
        for name in ENTITY_FIELDS:
            was = getattr(before, name)
            for key, entity in getattr(after, name).items():
                if was.get(key) is not entity:
                    codec.encode_text(entity)
    return len(events) - half


def collected(valgrind_stderr: str) -> int:
    """The instruction count callgrind reports at the end of a run."""
    match = _COLLECTED.search(valgrind_stderr)
    if match is None:
        raise RuntimeError(f"callgrind reported no count:\n{valgrind_stderr[-2000:]}")
    return int(match[1])


def _instructions(stage: str, records: Path, args: argparse.Namespace, *, idle: bool) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--child",
        stage,
        "--records",
        str(records),
        "--services",
        str(args.services),
        "--teams",
        str(args.teams),
        "--events",
        str(args.events),
        *(["--idle"] if idle else []),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return collected(done.stderr)


def _child(args: argparse.Namespace) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    with args.records.open("rb") as file:
        records: Records = pickle.load(file)
    mix = Mix(events=args.events * 2, services=args.services, teams=args.teams)
    run_stage(args.child, records, mix, idle=args.idle)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return _child(args)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        print(f"unknown stage(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # The fold needs a state to fold onto: twice the events, the first half its state.
    mix = Mix(events=args.events * 2, services=args.services, teams=args.teams)
    drawn = itertools.islice(stream(mix), args.events * 2)
    records: Records = [(r.value, [(k, v) for k, v in r.headers if v is not None]) for r in drawn]
    if len(records) < args.events * 2:
        print(f"the stream holds only {len(records):,} records", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"events": args.events, "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as scratch:
        for stage in stages:
            handed = records[: args.events] if stage == "decode" else records
            path = Path(scratch) / f"{stage}.pickle"
            with path.open("wb") as file:
                pickle.dump(handed, file)
            print(f"{stage}: two runs under callgrind...", file=sys.stderr, flush=True)
            idle = _instructions(stage, path, args, idle=True)
            busy = _instructions(stage, path, args, idle=False)
            # Either way, the work handles --events events (the fold, the second half).
            figures[stage] = round((busy - idle) / args.events)
            print(f"  {stage:<7} {figures[stage]:>9,} instructions an event")
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
