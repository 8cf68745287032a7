"""`python -m bench.instructions`: its stages run, and callgrind's count is read."""

from __future__ import annotations

import itertools

import pytest

from bench import instructions
from bench.fixtures import stream
from bench.mix import Mix


@pytest.mark.parametrize("stage", instructions.STAGES)
def test_each_stage_does_its_work_on_the_benchmark_records(stage: str) -> None:
    mix = Mix(events=2000, services=5, teams=2)
    records = [(r.value, list(r.headers)) for r in itertools.islice(stream(mix), 2000)]

    handled = instructions.run_stage(stage, records, mix, idle=False)

    assert handled == (2000 if stage == "decode" else 1000)
    assert instructions.run_stage(stage, records, mix, idle=True) == handled


def test_a_rejected_record_stops_the_count() -> None:
    with pytest.raises(RuntimeError, match="rejected"):
        instructions.decode_all([(b"{}", [])])


def test_callgrinds_count_is_read_from_its_report() -> None:
    report = "==4242== Events    : Ir\n==4242== Collected : 1822359267\n==4242== \n"

    assert instructions.collected(report) == 1_822_359_267
    with pytest.raises(RuntimeError, match="no count"):
        instructions.collected("valgrind: no such tool")
