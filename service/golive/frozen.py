"""Building and copying frozen, slotted dataclasses on ingest's hot path.

A frozen dataclass's generated `__init__` sets each field through
`object.__setattr__`, called through `type.__call__`: for the decoder's `Event`, which
every record becomes, that was 1.6 µs of the 11.6 a decode takes. `constructor` makes a
plain function that writes each slot through its descriptor instead: 0.75 µs.
`copier` does the same for `dataclasses.replace`, which the reducers call once an event
(docs/performance.md, eleventh and twelfth rounds). The instances are the same; they
stay frozen. Both functions are written out field by field, as dataclasses writes
`__init__`: a loop over the fields costs as much again.
"""

from __future__ import annotations

import keyword
import operator
import types
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any


def constructor(cls: type) -> Callable[..., Any]:
    """A function taking every field of `cls` positionally, in declaration order, and
    returning the instance `cls(*values)` would. For dataclasses with slots, no
    `__post_init__` and every field set by `__init__`; anything else is refused rather
    than built unfaithfully."""
    names = _field_names(cls, "constructor")
    made = f"new_{cls.__name__}"
    lines = [
        f"def {made}({', '.join(names)}):",
        "    self = _new(_cls)",
        *(f"    _set_{name}(self, {name})" for name in names),
        "    return self",
    ]
    return _made(cls, "constructor", made, names, lines)


Copier = Callable[[Any, dict[str, Any]], Any]


def copier(cls: type) -> Copier:
    """A function `copy(instance, changes)` returning what `dataclasses.replace(instance,
    **changes)` would, for the classes `constructor` builds. A name in `changes` that is
    not a field raises TypeError."""
    names = _field_names(cls, "copier")
    values = [f"v_{name}" for name in names]
    made = f"copy_{cls.__name__}"
    lines = [
        f"def {made}(instance, changes):",
        f"    {', '.join(values)} = _read_all(instance)",
        "    self = _new(_cls)",
        *(f"    _set_{name}(self, {value})" for name, value in zip(names, values, strict=True)),
        "    for name, value in changes.items():",
        "        set_field = _setters.get(name)",
        "        if set_field is None:",
        "            _no_field(changes)",
        "        set_field(self, value)",
        "    return self",
    ]

    def no_field(changes: dict[str, Any]) -> None:
        unknown = ", ".join(sorted(set(changes) - set(names)))
        raise TypeError(f"{cls.__name__} has no field {unknown}")

    # One name or more: attrgetter returns a value for one, a tuple for several.
    read_all = operator.attrgetter(*names) if len(names) > 1 else _one(names[0])
    extra = {"_read_all": read_all, "_no_field": no_field}
    return _made(cls, "copier", made, names, lines, extra)


def _one(name: str) -> Callable[[Any], tuple[Any]]:
    get = operator.attrgetter(name)
    return lambda instance: (get(instance),)


def _field_names(cls: type, maker: str) -> list[str]:
    if not is_dataclass(cls) or "__slots__" not in vars(cls) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{maker}() builds frozen slotted dataclasses, not {cls}")
    if not all(f.init for f in fields(cls)):
        raise TypeError(f"{maker}() needs every field of {cls} set by __init__")
    names = [f.name for f in fields(cls)]
    # The generated source names them: as parameters, beside its own `self` and globals.
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names) or any(
        n == "self" or n.startswith("_") for n in names
    ):
        raise TypeError(f"{maker}() cannot name the fields of {cls} in its source: {names}")
    return names


def _made(
    cls: type,
    maker: str,
    made: str,
    names: list[str],
    lines: list[str],
    extra: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    setters = {name: _slot(cls, name, maker).__set__ for name in names}
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_setters": setters}
    namespace |= {f"_set_{name}": setter for name, setter in setters.items()}
    namespace |= extra or {}
    exec("\n".join(lines), namespace)  # the source is made above, from field names only
    function: Callable[..., Any] = namespace[made]
    function.__qualname__ = f"{maker}({cls.__qualname__})"
    return function


def _slot(cls: type, name: str, maker: str) -> types.MemberDescriptorType:
    """The slot holding field `name`, in `cls` or the class it inherits it from."""
    for owner in cls.__mro__:
        if name in vars(owner):
            slot = vars(owner)[name]
            if isinstance(slot, types.MemberDescriptorType):
                return slot
            break
    raise TypeError(f"{maker}(): field {name} of {cls} is not held in a slot")
