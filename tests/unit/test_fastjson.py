"""golive.fastjson writes what json.loads reads back as the same value, also where orjson
alone could not (integers beyond 64 bits, lone surrogates). Parsing is tested through
the decoder, in test_contract_decode.py."""

from __future__ import annotations

import json
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
