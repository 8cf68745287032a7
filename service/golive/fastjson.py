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
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

# A run of 19 ASCII digits (JSON numbers are ASCII) may be an integer beyond 64 bits.
# Found by mapping every digit to "0" and everything else to "." and searching for 19
# zeros: 0.5 µs a benchmark record, against 3.4 µs for the regex `[0-9]{19}`.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_RUN = b"0" * 19


def may_hold_long_integer(data: bytes) -> bool:
    """Whether `data` holds a run of 19 ASCII digits (so orjson might read a float)."""
    return contains(data.translate(_DIGITS_AS_ZEROS), _LONG_RUN)


def contains(data: bytes, part: bytes) -> bool:
    """`part in data`, without the exception: `bytes.__contains__` first tries its
    argument as an integer (`42 in data`), and for bytes raises and formats a TypeError
    it then drops, 1,800 instructions a test; the decoder makes three a record
    (docs/performance.md, twelfth round)."""
    return data.find(part) != -1


def loads(
    text: str,
    *,
    parse_constant: Callable[[str], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
    check_fallback: Callable[[str, Any], None] | None = None,
) -> Any:
    """`json.loads(text, parse_constant=..., parse_float=...)`: the same value, the same
    errors. `parse_float` must return `float(literal)` for every finite literal (or
    raise): orjson reads those itself, and hands the others (`1e400`) to the library.
    `check_fallback(text, value)` sees only what the library read (what orjson refuses,
    such as lone surrogates, can only be there), so orjson's path pays nothing for it."""
    if not may_hold_long_integer(text.encode("utf-8", "surrogatepass")):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    value = json.loads(text, parse_constant=parse_constant, parse_float=parse_float)
    if check_fallback is not None:
        check_fallback(text, value)
    return value


def loads_plain(data: bytes) -> Any:
    """orjson's reading of `data`, UTF-8 JSON, where it is sure to equal
    `json.loads(data.decode("utf-8"))` and that value is not null; else None, and the
    caller reads `data` the careful way (which also says what is wrong with it). orjson
    checks the UTF-8 itself and refuses what the library reads differently or not at all
    (NaN, `1e400`, lone surrogates, a byte order mark, control characters); a NUL byte or
    a run of 19 digits is left to the caller too."""
    if contains(data, b"\x00") or may_hold_long_integer(data):
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def dumps_finite(value: Any) -> str:
    """Compact JSON of `value`, whose floats the caller knows to be finite (orjson writes
    NaN as null, where `json.dumps` writes a NaN that JSON and jsonb refuse). Datetimes
    are ISO 8601 text, as `datetime.isoformat` writes them, on both paths."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, a lone surrogate: the library's way
        return json.dumps(value, separators=(",", ":"), default=_isoformat)


def _isoformat(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
