"""The service's shutdown: bounded, and a cancelled task still gets to clean up."""

from __future__ import annotations

import asyncio

import pytest

from golive import app


@pytest.mark.asyncio
async def test_a_task_cancelled_after_the_grace_still_finishes_its_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ingest, cancelled while stuck, closes two Kafka clients (up to 3 s each) on its way
    # out: cut short, their sockets leak and aiokafka warns when they are collected.
    monkeypatch.setattr(app, "SHUTDOWN_GRACE", 0.1)
    cleaned = asyncio.Event()

    async def stuck_then_slow_to_close() -> None:
        try:
            await asyncio.Event().wait()  # ignores the stop
        finally:
            await asyncio.sleep(1.5)
            cleaned.set()

    stop = asyncio.Event()
    task = asyncio.create_task(stuck_then_slow_to_close(), name="ingest")
    stop.set()
    await app.supervise([task], stop)
    assert cleaned.is_set()
    assert task.cancelled()


@pytest.mark.asyncio
async def test_a_failed_task_stops_the_others_and_its_error_is_raised() -> None:
    stop = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("broken")

    async def waits_for_stop() -> None:
        await stop.wait()

    other = asyncio.create_task(waits_for_stop())
    with pytest.raises(RuntimeError, match="broken"):
        await app.supervise([asyncio.create_task(fails()), other], stop)
    assert other.done()
    assert not other.cancelled()  # it stopped on the stop, as asked
