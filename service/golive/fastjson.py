"""`json.loads` and `json.dumps`, through orjson wherever it gives exactly the same
result: it parses and writes golive's documents several times faster
(docs/performance.md).

orjson refuses what the standard library reads differently (NaN, `1e400`, lone
surrogates, a byte order mark) and those take the library's path, with its values and
its messages. The one silent difference, integer literals beyond 64 bits that orjson
reads as floats, is caught before parsing: any run of 19 digits takes the library's path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

_LONG_INTEGER = re.compile(r"\d{19}")


def loads(text: str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """`json.loads(text, parse_constant=...)`: the same value, the same errors."""
    if not _LONG_INTEGER.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=parse_constant)


def dumps_finite(value: Any) -> str:
    """Compact JSON of `value`, whose floats the caller knows to be finite (orjson writes
    NaN as null, where `json.dumps` writes a NaN that JSON and jsonb refuse)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, a lone surrogate: the library's way
        return json.dumps(value, separators=(",", ":"))
