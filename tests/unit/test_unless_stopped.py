"""`_unless_stopped`: what the consumer awaits (a fetch, a probe) is abandoned on stop, and
cancelled with it when the consumer's own task is cancelled (the fetch ahead, on stop)."""

from __future__ import annotations

import asyncio

import pytest

from golive.ingest.consumer import _unless_stopped


@pytest.mark.asyncio
async def test_a_cancelled_wait_cancels_what_it_waited_for() -> None:
    inner = asyncio.ensure_future(asyncio.sleep(60))
    waiting = asyncio.ensure_future(_unless_stopped(inner, asyncio.Event()))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)
    assert inner.cancelled()


@pytest.mark.asyncio
async def test_a_stop_abandons_the_wait_with_no_result() -> None:
    stop = asyncio.Event()
    inner = asyncio.ensure_future(asyncio.sleep(60))
    waiting = asyncio.ensure_future(_unless_stopped(inner, stop))
    stop.set()
    assert await waiting is None
    await asyncio.sleep(0)
    assert inner.cancelled()


@pytest.mark.asyncio
async def test_the_result_comes_back_when_it_comes_first() -> None:
    assert await _unless_stopped(asyncio.sleep(0, result="fetched"), asyncio.Event()) == "fetched"
