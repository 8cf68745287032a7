"""`write_batch` against a real Postgres: what a refused batch hands over."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from golive.contract import Event, decode_record
from golive.store.batches import Conflict, IncomingEvent, write_batch
from golive.store.db import _init, translated
from golive.store.errors import StoreRejectedError
from golive.store.migrations import migrate
from tests.fixtures.hostile import _noise, cdevent, dumps, with_field
from tests.integration.scenarios import CATALOG


def incoming(value: bytes, offset: int) -> IncomingEvent:
    event = decode_record(value)
    assert isinstance(event, Event), event
    return IncomingEvent(event, value, [], "t", 0, offset)


@pytest.mark.asyncio
async def test_a_batch_postgres_refuses_hands_over_no_conflict_and_its_events_singly_do_once(
    database_url: str,
) -> None:
    # CI saw a conflict dead-lettered twice: once by the batch, sent before Postgres
    # refused a later write of it, and again when the consumer wrote its events singly.
    first = cdevent("collision")
    twin = with_field(first, "subject.content.artifactId", "pkg:oci/evil@6.6.6")
    refused = with_field(cdevent("longenv"), "subject.content.environment.id", _noise(20_000))
    batch = [incoming(dumps(first), 0), incoming(dumps(twin), 1), incoming(dumps(refused), 2)]
    handed: list[Conflict] = []

    async def on_conflicts(conflicts: Sequence[Conflict]) -> None:
        handed.extend(conflicts)

    conn = await asyncpg.connect(database_url)
    try:
        await _init(conn)
        await migrate(conn)
        with pytest.raises(StoreRejectedError):
            async with translated():
                await write_batch(
                    conn, batch, {}, group_id="g", catalog=CATALOG, on_conflicts=on_conflicts
                )
        assert handed == []  # rolled back: nothing of it may have left
        for item in batch[:2]:  # as the consumer isolates a refused batch
            await write_batch(
                conn, [item], {}, group_id="g", catalog=CATALOG, on_conflicts=on_conflicts
            )
    finally:
        await conn.close()
    assert [c.incoming.offset for c in handed] == [1]
