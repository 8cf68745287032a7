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

# ASCII digits only, as JSON numbers are: `\d` also matches other scripts' digits, and
# costs a third more a record.
_LONG_INTEGER = re.compile(r"[0-9]{19}")


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
    if not _LONG_INTEGER.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    value = json.loads(text, parse_constant=parse_constant, parse_float=parse_float)
    if check_fallback is not None:
        check_fallback(text, value)
    return value


def dumps_finite(value: Any) -> str:
    """Compact JSON of `value`, whose floats the caller knows to be finite (orjson writes
    NaN as null, where `json.dumps` writes a NaN that JSON and jsonb refuse)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, a lone surrogate: the library's way
        return json.dumps(value, separators=(",", ":"))
