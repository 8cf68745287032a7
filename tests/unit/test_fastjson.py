"""golive.fastjson writes what json.loads reads back as the same value, also where orjson
alone could not (integers beyond 64 bits, lone surrogates). Parsing is tested through
the decoder, in test_contract_decode.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from golive import fastjson


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, -0.0, True, None], "c": {"d": "caf\u00e9"}},
        {"big": 10**30, "negative": -(2**64)},
        {"lone": "\ud800"},
        [],
    ],
)
def test_written_json_reads_back_as_the_same_value(value: Any) -> None:
    text = fastjson.dumps_finite(value)
    assert json.loads(text) == value
    assert fastjson.loads(text) == value


def test_long_integers_are_read_exactly_not_as_floats() -> None:
    value = fastjson.loads('{"n": 123456789012345678901234567890}')
    assert value == {"n": 123456789012345678901234567890}
    assert isinstance(value["n"], int)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 5, 9, 30, tzinfo=UTC),
        datetime(2026, 12, 5, 9, 30, 0, 120, tzinfo=UTC),
        datetime(2026, 12, 5, 9, 30, tzinfo=timezone(timedelta(hours=-3))),
    ],
)
def test_datetimes_are_written_as_isoformat_on_both_paths(moment: datetime) -> None:
    # The events of a batch go to Postgres as one document (store.batches.insert_events);
    # a value orjson refuses sends it all down the library's path.
    assert json.loads(fastjson.dumps_finite([moment])) == [moment.isoformat()]
    assert json.loads(fastjson.dumps_finite([moment, 10**30])) == [moment.isoformat(), 10**30]


@pytest.mark.parametrize(
    ("data", "part"),
    [
        (b"", b"\x00"),
        (b"\x00", b"\x00"),
        (b'{"a":"\\u0000"}', b"\\u0000"),
        (b'{"a":"\\\\u0000"}', b"\\u0000"),
        (b"abc", b""),
        (b"ab", b"abc"),
        (b"0" * 19, b"0" * 19),
        (b"0" * 18 + b".0", b"0" * 19),
    ],
)
def test_contains_is_the_in_operator(data: bytes, part: bytes) -> None:
    assert fastjson.contains(data, part) is (part in data)
