"""The entities an ingesting instance has written or read lately, with the write that
made each stored row, so that a batch can be folded before its transaction begins.

An entry is only a guess about the stored row: a batch's transaction locks the rows it
touches and checks that each is still the version the entry came from, by the row's
`xmin` (the transaction that wrote it). Whoever changed a row since (another instance,
`golive replay`, an operator) gave it another `xmin`, and the batch then reads the row
again under the lock. The cache therefore never decides what is stored; it saves
reading and decoding documents that this instance wrote itself (docs/architecture.md).

No I/O here: the store fills and checks it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

# xmin is a 32-bit transaction id that Postgres reuses after 2^32 transactions. Entries
# are all dropped once this many transactions passed since the cache was last emptied,
# so an entry cannot outlive its row's xmin long enough to meet that xmin again.
MAX_XID_SPAN = 1 << 28
XID_MASK = 0xFFFFFFFF


@dataclass(slots=True)
class Write:
    """One batch's writes; `xid` is its transaction's id once it committed."""

    xid: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """What a stored row held: `entity` (None: no entity under the key), as `write` left
    it (None for a row without an entity)."""

    entity: Any
    write: Write | None = None

    def matches(self, xmin: int, stored: bool) -> bool:
        """Whether a locked row (its xmin, whether it holds an entity) is this entry."""
        if self.entity is None:
            return not stored
        xid = self.write.xid if self.write is not None else None
        return stored and xid is not None and xid & XID_MASK == xmin


ABSENT = Entry(None)


class EntityCache:
    """Entries by State field and key, the least recently used dropped beyond `capacity`.

    `epoch` moves on every `invalidate`: a batch prepared before it folded onto entries
    that are gone, and is prepared again."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.epoch = 0
        self._entries: OrderedDict[tuple[str, Any], Entry] = OrderedDict()
        self._first_xid: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, field: str, key: Any) -> Entry | None:
        entry = self._entries.get((field, key))
        if entry is not None:
            self._entries.move_to_end((field, key))
        return entry

    def put(self, field: str, key: Any, entry: Entry) -> None:
        if self.capacity <= 0:
            return
        self._entries[(field, key)] = entry
        self._entries.move_to_end((field, key))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def invalidate(self) -> None:
        """Forget every entry: after a batch that did not commit as it was prepared."""
        self._entries.clear()
        self._first_xid = None
        self.epoch += 1

    def committed(self, xid: int) -> None:
        """Note a commit's full (64-bit) transaction id; empty the cache when its oldest
        entries could be nearing a reused xmin."""
        if self._first_xid is None:
            self._first_xid = xid
        elif xid - self._first_xid > MAX_XID_SPAN:
            self.invalidate()
            self._first_xid = xid
