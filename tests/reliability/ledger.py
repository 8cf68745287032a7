"""What each fault run did to the events: produced, applied, duplicated, lost.

Counted from the database, not from the service's metrics (a killed instance takes its
counters with it):
- applied: rows in `events`, one per event golive took in (unique on source + id);
- duplicated: events applied more than once. `event_counts` is incremented in the
  transaction that inserts an event, so any surplus over the rows of `events` is an
  event whose effects were applied twice;
- dead-lettered: records refused with a reason, read back from the dead-letter topic;
- lost: produced, yet neither applied nor dead-lettered. Must be 0.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg

REPORT = Path(os.environ.get("GOLIVE_RELIABILITY_REPORT", "build/reliability.json"))


@dataclass(frozen=True, slots=True)
class FaultRun:
    name: str
    fault: str  # what was done, and how often
    produced: int
    applied: int
    applied_counted: int
    dead_lettered: int
    seconds: float
    notes: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def duplicated(self) -> int:
        return self.applied_counted - self.applied

    @property
    def lost(self) -> int:
        return self.produced - self.applied - self.dead_lettered

    def as_row(self) -> dict[str, object]:
        return {**asdict(self), "duplicated": self.duplicated, "lost": self.lost}


async def count_applied(database_url: str) -> tuple[int, int]:
    """(rows of `events`, sum of `event_counts`)."""
    conn = await asyncpg.connect(database_url)
    try:
        applied = await conn.fetchval("SELECT count(*) FROM events")
        counted = await conn.fetchval("SELECT coalesce(sum(count), 0) FROM event_counts")
    finally:
        await conn.close()
    return int(applied), int(counted)


class Ledger:
    """The session's fault runs, written to `REPORT` and summarised after the run."""

    def __init__(self) -> None:
        self.runs: list[FaultRun] = []

    def add(self, run: FaultRun) -> FaultRun:
        self.runs.append(run)
        return run

    def write(self) -> None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps([r.as_row() for r in self.runs], indent=2) + "\n")

    def table(self) -> list[str]:
        head = f"{'fault run':<34} {'produced':>9} {'applied':>8} {'dup':>4} {'dlq':>4} {'lost':>5} {'s':>6}"
        lines = [head]
        for r in self.runs:
            lines.append(
                f"{r.name:<34} {r.produced:>9} {r.applied:>8} {r.duplicated:>4} "
                f"{r.dead_lettered:>4} {r.lost:>5} {r.seconds:>6.0f}   {r.fault}"
            )
        return lines
