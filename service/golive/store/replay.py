"""`golive replay`: rebuild every projection from the events table.

Runs in one transaction that first locks `events` against writes, so ingest pauses
(its inserts wait) and resumes on the rebuilt state: no event is applied twice or lost.
Events are re-decoded from their stored record exactly as live ingest decoded them,
and applied in chunks with the same code path as live batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from golive.contract import Rejection, decode_record
from golive.domain.catalog import Catalog
from golive.store.batches import apply_events
from golive.store.db import Connection
from golive.store.derived import derive_taken
from golive.store.projections import PROJECTIONS

log = logging.getLogger(__name__)
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class ReplayResult:
    events: int
    undecodable: int  # stored events today's decoder rejects (kept, not applied)


async def replay(
    conn: Connection,
    catalog: Catalog,
    *,
    max_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    async with conn.transaction():
        await conn.execute("LOCK TABLE events IN SHARE MODE")
        derived_tables = [
            "event_counts",
            "deployments",
            "recoveries",
            "artifact_changes",
            "team_activity",
            "delivery_walks",
            "deliveries_pending",
        ]
        tables = ", ".join([p.table for p in PROJECTIONS] + derived_tables)
        await conn.execute(f"TRUNCATE {tables}")
        total = int(await conn.fetchval("SELECT count(*) FROM events"))
        done = undecodable = 0
        last_seq = 0
        while True:
            rows = await conn.fetch(
                "SELECT seq, payload, headers FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                last_seq,
                CHUNK,
            )
            if not rows:
                break
            last_seq = rows[-1]["seq"]
            events = []
            for row in rows:
                headers = [(k, v.encode()) for k, v in row["headers"]]
                decoded = decode_record(bytes(row["payload"]), headers, max_bytes=max_bytes)
                if isinstance(decoded, Rejection):
                    undecodable += 1
                    log.warning("stored event seq %s no longer decodes: %s", row["seq"], decoded)
                else:
                    events.append(decoded)
            await apply_events(conn, events, catalog)
            done += len(rows)
            if progress:
                progress(done, total)
        # The deliveries the chunks queued, derived before the rebuilt state is committed.
        while await derive_taken(conn):
            pass
    return ReplayResult(done, undecodable)
