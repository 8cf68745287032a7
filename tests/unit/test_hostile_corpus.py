"""Every record of the hostile corpus decodes to an Event or a Rejection with a clear
reason (never an exception), as the corpus says, and every Event folds into the state."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from golive.cli import _events_of_file
from golive.config import ConfigError
from golive.contract import Event, Rejection, RejectionKind, decode_record
from golive.contract.errors import MAX_REASON_CHARS
from golive.domain.state import apply_all
from tests.fixtures.hostile import HOSTILE_MAX_BYTES, NOW, Case, corpus

CORPUS = corpus()
NOT_AFTER = NOW + timedelta(days=1)


def _decode(case: Case) -> Event | Rejection:
    return decode_record(case.value, case.headers, max_bytes=HOSTILE_MAX_BYTES, not_after=NOT_AFTER)


def test_the_corpus_is_large_and_covers_every_outcome() -> None:
    assert len(CORPUS) >= 30
    outcomes = {c.outcome for c in CORPUS}
    assert {"applied", "duplicate", RejectionKind.ID_CONFLICT} <= outcomes
    assert len(outcomes) >= 12


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_record_decodes_as_the_corpus_says(case: Case) -> None:
    result = _decode(case)
    if case.decodes:
        assert isinstance(result, Event), result
    else:
        assert isinstance(result, Rejection), f"accepted: {result}"
        assert result.kind == case.outcome, result
        # A reason a person can act on: a sentence, bounded, no traceback.
        assert 15 <= len(result.reason) <= MAX_REASON_CHARS, result.reason
        assert "Traceback" not in result.reason


def test_decoded_hostile_events_fold_into_the_state_together() -> None:
    events = [e for e in map(_decode, CORPUS) if isinstance(e, Event)]
    state = apply_all(events)
    assert sum(state.event_counts.values()) == len({e.key for e in events})


def test_duplicate_keys_give_every_reader_the_same_id() -> None:
    """Policy: the last of duplicate keys wins, in orjson, the library and jsonb alike."""
    case = next(c for c in CORPUS if c.name == "duplicate_key_context_id")
    result = _decode(case)
    assert isinstance(result, Event)
    assert result.id == "hostile-dupid"
    assert orjson.loads(case.value)["context"]["id"] == "hostile-dupid"
    assert json.loads(case.value)["context"]["id"] == "hostile-dupid"


def test_an_event_within_the_clock_skew_is_accepted_and_beyond_it_rejected() -> None:
    base = json.loads(CORPUS[0].value)
    for ahead, accepted in ((timedelta(hours=23), True), (timedelta(days=1, seconds=1), False)):
        base["context"]["timestamp"] = (NOW + ahead).isoformat()
        result = decode_record(json.dumps(base).encode(), not_after=NOT_AFTER)
        assert isinstance(result, Event) is accepted, result
    assert isinstance(result, Rejection)
    assert "GOLIVE_MAX_CLOCK_SKEW" in result.reason


def test_without_a_bound_a_far_future_time_still_decodes() -> None:
    """`golive check-event` and replay have no clock bound: only the live paths do."""
    case = next(c for c in CORPUS if c.name == "time_year_9999")
    assert isinstance(decode_record(case.value), Event)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "9" * 5000, "{"])
def test_emit_file_that_json_cannot_read_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="--file"):
        _events_of_file(str(path))
