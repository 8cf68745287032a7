"""`write_batch` against a real Postgres: what a refused batch hands over."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

import asyncpg
import pytest

from golive.contract import Event, decode_record
from golive.store.batches import Conflict, IncomingEvent, write_batch
from golive.store.db import _init, translated
from golive.store.errors import StoreRejectedError
from golive.store.migrations import migrate
from golive.store.projections import BY_FIELD, lock
from tests.fixtures.hostile import _noise, cdevent, dumps, with_field
from tests.integration.databases import connected
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

    async with connected(database_url) as conn:
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
    assert [c.incoming.offset for c in handed] == [1]


@pytest.mark.asyncio
async def test_lock_takes_rows_another_transaction_created_while_it_waited(
    database_url: str,
) -> None:
    # `lock` creates placeholders and locks in one statement, whose snapshot misses a row
    # another transaction commits while the INSERT waits on it: it must still lock it.
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await _init(first)
        await migrate(first)
        await _init(second)
        projection = BY_FIELD["teams"]
        holder = first.transaction()
        await holder.start()
        created = await lock(first, projection, ["payments"])
        assert created["payments"][1] is False  # a placeholder, no entity yet
        async with second.transaction():
            waiting = asyncio.create_task(lock(second, projection, ["checkout", "payments"]))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # held by the first transaction's new row
            committed_xmin = created["payments"][0]
            await holder.commit()
            locked = await asyncio.wait_for(waiting, 10)
            assert set(locked) == {"checkout", "payments"}
            assert locked["payments"] == (committed_xmin, False)
            # Both rows are the second transaction's now: the stored one cannot be locked
            # by another writer, nor the new one created again.
            with pytest.raises(asyncpg.LockNotAvailableError):
                await first.execute("SELECT 1 FROM teams WHERE key = 'payments' FOR UPDATE NOWAIT")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await first.execute(
                    "SET lock_timeout = '200ms'; "
                    "INSERT INTO teams (key) VALUES ('checkout') ON CONFLICT DO NOTHING"
                )
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("in_a_transaction", [False, True], ids=["alone", "in-a-transaction"])
async def test_a_batch_holding_stored_events_is_written_again_and_applies_only_the_new(
    database_url: str, in_a_transaction: bool
) -> None:
    # A batch goes in as new events first (a plain INSERT); one stored event aborts that
    # transaction (or the caller's savepoint), and the batch is written again with the
    # insert that sets stored events aside: nothing twice, the conflict handed over once.
    stored, other = cdevent("stored"), cdevent("other")
    twin = with_field(other, "subject.content.artifactId", "pkg:oci/checkout@6.6.6")
    new = cdevent("new")
    handed: list[Conflict] = []

    async def on_conflicts(conflicts: Sequence[Conflict]) -> None:
        handed.extend(conflicts)

    async with connected(database_url) as conn:
        await write_batch(
            conn,
            [incoming(dumps(stored), 0), incoming(dumps(other), 1)],
            {},
            group_id="g",
            catalog=CATALOG,
        )
        again = [incoming(dumps(stored), 2), incoming(dumps(twin), 3), incoming(dumps(new), 4)]
        async with contextlib.AsyncExitStack() as outer:
            if in_a_transaction:
                await outer.enter_async_context(conn.transaction())
            result = await write_batch(
                conn, again, {}, group_id="g", catalog=CATALOG, on_conflicts=on_conflicts
            )
        ids = await conn.fetch('SELECT id, "offset" FROM events ORDER BY id')
    assert [(r["id"], r["offset"]) for r in ids] == [
        ("hostile-new", 4),
        ("hostile-other", 1),
        ("hostile-stored", 0),
    ]
    assert sum(result.applied.values()) == 1
    assert sum(result.duplicates.values()) == 1
    assert [c.incoming.offset for c in handed] == [3]
    assert result.refolded


@pytest.mark.asyncio
async def test_every_payload_is_stored_byte_for_byte_whichever_insert_writes_it(
    database_url: str,
) -> None:
    # The payloads travel joined in one bytea, each row cut out by its start and length
    # (`store.batches._event_rows`): lengths in bytes, multi-byte text included.
    def record(name: str, repeat: int) -> bytes:
        doc = with_field(cdevent(name), "customData", {"note": "café 日本 🚀 " * repeat})
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    first = [record("p0", 0), record("p1", 1), record("p2", 40)]
    again = [first[1], record("p3", 3), record("p4", 0), record("p5", 700)]
    async with connected(database_url) as conn:
        await write_batch(
            conn, [incoming(v, i) for i, v in enumerate(first)], {}, group_id="g", catalog=CATALOG
        )
        # One stored already: the batch is written again by `insert_events`.
        result = await write_batch(
            conn,
            [incoming(v, 10 + i) for i, v in enumerate(again)],
            {},
            group_id="g",
            catalog=CATALOG,
        )
        stored = await conn.fetch('SELECT id, payload, "offset" FROM events ORDER BY "offset"')
    assert result.refolded
    assert sum(result.duplicates.values()) == 1
    expected = [*first, *again[1:]]
    assert [bytes(r["payload"]) for r in stored] == expected
    assert [r["offset"] for r in stored] == [0, 1, 2, 11, 12, 13]
