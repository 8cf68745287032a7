"""Read side: loading projections back into domain state for the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from golive.domain.state import ENTITY_FIELDS, State
from golive.store.db import Connection
from golive.store.projections import BY_FIELD


async def load_state(conn: Connection, fields: Iterable[str] = ENTITY_FIELDS) -> State:
    """The stored entities of `fields` (others empty), as a domain State."""
    loaded: dict[str, Any] = {}
    for name in fields:
        projection = BY_FIELD[name]
        rows = await conn.fetch(f"SELECT key, doc FROM {projection.table} WHERE doc IS NOT NULL")
        loaded[name] = {projection.state_key(r["key"]): projection.decode(r["doc"]) for r in rows}
    counts = await conn.fetch("SELECT name, count FROM event_counts")
    return State(**loaded, event_counts={r["name"]: r["count"] for r in counts})
