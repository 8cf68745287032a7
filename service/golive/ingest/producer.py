"""Producing to Kafka: topic creation and timed playback (for the demo and `golive emit`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]

from golive.clock import Clock
from golive.config import Settings
from golive.ingest.kafka import client_options, make_producer

log = logging.getLogger(__name__)


class TimedRecord(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...]: ...
    @property
    def label(self) -> str: ...


async def ensure_topics(settings: Settings, topics: Sequence[str], partitions: int = 6) -> None:
    """Create the topics that do not exist yet (the demo's broker starts empty)."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing, timeout_ms=10_000)
    finally:
        await admin.close()


async def play(
    settings: Settings,
    records: Sequence[TimedRecord],
    clock: Clock,
    stop: asyncio.Event,
    on_sent: Callable[[TimedRecord], None] = lambda _r: None,
) -> int:
    """Send each record at its `at` time (at once if past); return how many were sent."""
    producer = make_producer(settings)
    await producer.start()
    sent = 0
    try:
        for record in records:
            delay = (record.at - clock.now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
            if stop.is_set():
                break
            await producer.send_and_wait(
                settings.kafka_topics[0],
                value=record.value,
                key=record.key,
                headers=list(record.headers),
            )
            sent += 1
            on_sent(record)
    finally:
        await producer.stop()
    return sent
