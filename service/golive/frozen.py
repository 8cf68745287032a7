"""Building frozen, slotted dataclasses on ingest's hot path.

A frozen dataclass's generated `__init__` sets each field through
`object.__setattr__`, called through `type.__call__`: for the decoder's `Event`, which
every record becomes, that was 1.6 µs of the 11.6 a decode takes. `constructor` makes a
plain function that writes each slot through its descriptor instead: 0.75 µs
(docs/performance.md, twelfth round). The instance is the same; it stays frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any


def constructor(cls: type) -> Callable[..., Any]:
    """A function taking every field of `cls` positionally, in declaration order, and
    returning the instance `cls(*values)` would. For dataclasses with slots, no
    `__post_init__` and every field set by `__init__`; anything else is refused rather
    than built unfaithfully."""
    if not is_dataclass(cls) or "__slots__" not in vars(cls) or hasattr(cls, "__post_init__"):
        raise TypeError(f"constructor() builds slotted dataclasses, not {cls}")
    if not all(f.init for f in fields(cls)):
        raise TypeError(f"constructor() needs every field of {cls} set by __init__")
    names = [f.name for f in fields(cls)]
    if not all(name.isidentifier() and not name.startswith("_") for name in names):
        raise TypeError(f"constructor() cannot name the fields of {cls}: {names}")
    # Unrolled, as dataclasses writes `__init__`: a loop over the setters costs 1.1 µs.
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    namespace |= {f"_set_{name}": vars(cls)[name].__set__ for name in names}
    lines = [
        f"def new_{cls.__name__}({', '.join(names)}):",
        "    self = _new(_cls)",
        *(f"    _set_{name}(self, {name})" for name in names),
        "    return self",
    ]
    exec("\n".join(lines), namespace)  # the source is made above, from field names only
    made: Callable[..., Any] = namespace[f"new_{cls.__name__}"]
    made.__qualname__ = f"constructor({cls.__qualname__})"
    return made
