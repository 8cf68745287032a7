"""Fuzzing the decoder: arbitrary bytes and headers, and valid CloudEvents/CDEvents with
fields replaced by arbitrary JSON values, never make it raise; what it accepts folds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from golive.contract import Event, Rejection, decode_record
from golive.domain.state import apply_all
from tests.fixtures.cloudevents import structured
from tests.fixtures.hostile import NOW, binary_headers, cdevent, with_field

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()  # NaN and infinities included: json.dumps writes them
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [
    "context",
    "context.id",
    "context.source",
    "context.type",
    "context.timestamp",
    "context.specversion",
    "subject",
    "subject.id",
    "subject.content",
    "subject.content.environment",
    "subject.content.artifactId",
    "customData",
]
ENVELOPE = ["specversion", "id", "source", "type", "time", "team", "data", "datacontenttype"]
HEADER_NAMES = st.sampled_from(
    ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_team", "CE_ID", "x"]
)
HEADERS = st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=20)), max_size=6)
FUZZ = settings(max_examples=400, deadline=None)


def _total(value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
    result = decode_record(value, headers, not_after=NOW)
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert result.reason
    else:
        apply_all([result])


@FUZZ
@given(st.binary(max_size=300), HEADERS)
def test_arbitrary_bytes_and_headers_never_raise(
    value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    _total(value, headers)


@FUZZ
@given(st.sampled_from(PATHS), JSON, st.sampled_from(["plain", "structured", "binary"]))
def test_a_valid_event_with_a_field_replaced_never_raises(path: str, value: Any, mode: str) -> None:
    doc = (
        with_field(cdevent("fuzz"), path, value)
        if "." in path
        else {**cdevent("fuzz"), path: value}
    )
    headers = binary_headers(cdevent("fuzz")) if mode == "binary" else []
    body = structured(cdevent("fuzz")) | {"data": doc} if mode == "structured" else doc
    _total(json.dumps(body).encode(), headers)


@FUZZ
@given(st.sampled_from(ENVELOPE), JSON)
def test_a_valid_envelope_with_an_attribute_replaced_never_raises(name: str, value: Any) -> None:
    _total(json.dumps(structured(cdevent("fuzz")) | {name: value}).encode(), [])


@FUZZ
@given(st.integers(min_value=0, max_value=400), st.binary(min_size=0, max_size=8))
def test_a_valid_event_cut_or_spliced_anywhere_never_raises(at: int, splice: bytes) -> None:
    value = json.dumps(structured(cdevent("fuzz"))).encode()
    _total(value[:at] + splice + value[at + len(splice) :], [])
