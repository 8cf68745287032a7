"""`python -m bench` (`make bench`): every benchmark in one run, one result file.

1. `bench.throughput`: raw consumer vs golive end to end, latency at a fixed rate, RSS;
2. `bench.kpis`: snapshot refresh, `/metrics` scrape and monthly report over 1M events.

Each writes its own JSON under `bench/results/`; this merges them, with the machine,
into `bench/results.json` and prints both tables. `--quick` runs both at a tenth of
their size, a check that the benchmarks work, not figures to quote: it writes to a
temporary directory and leaves `bench/results/` alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path("bench/results")
OUTPUT = Path("bench/results.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the default sizes")
    args = parser.parse_args(argv)
    throughput = ["--events", "20000", "--latency-events", "4000"] if args.quick else []
    kpis = ["--events", "100000", "--tail", "5000"] if args.quick else []
    results, merged_output = RESULTS, OUTPUT
    if args.quick:
        results = Path(tempfile.mkdtemp(prefix="golive-bench-quick-"))
        merged_output = results / "results.json"
    merged: dict[str, object] = {}
    for name, extra in (("throughput", throughput), ("kpis", kpis)):
        output = results / f"{name}.json"
        command = [sys.executable, "-m", f"bench.{name}", "--output", str(output), *extra]
        print(f"$ {' '.join(command[1:])}", flush=True)
        code = subprocess.call(command)
        if code != 0:
            print(f"bench.{name} failed (exit {code})", file=sys.stderr)
            return code
        merged[name] = json.loads(output.read_text())
    merged_output.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"written to {merged_output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
