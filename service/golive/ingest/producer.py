"""Producing to Kafka: events from HTTP and `golive emit`, topic creation, timed playback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]

from golive.clock import Clock
from golive.config import Settings
from golive.ingest.kafka import (
    BROKER_ERRORS,
    BrokerUnavailableError,
    client_options,
    make_admin,
    make_producer,
)

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


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    key: bytes  # the entity's id: one entity's events stay in order on one partition
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Produced:
    """Where the broker stored a record."""

    topic: str
    partition: int
    offset: int


class EventProducer:
    """Produces events to the events topic and waits for the broker's acknowledgement.

    Started on first use, so `golive run` serves HTTP while the broker is still away; a
    producer that failed is rebuilt on the next call.
    """

    def __init__(self, settings: Settings, timeout: float = 15.0) -> None:
        # Built once now so a CA, certificate or key that is not PEM stops the start
        # (ConfigError naming the setting) instead of failing every later send.
        client_options(settings)
        self._settings = settings
        self._timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    @property
    def topic(self) -> str:
        return self._settings.kafka_topics[0]

    async def send(self, records: Sequence[OutgoingRecord]) -> list[Produced]:
        """Produce `records` in order; return once every one is acknowledged (acks=all).

        Raises `BrokerUnavailableError` when the broker cannot take them in `timeout`
        seconds; some may have been stored anyway, which is harmless: a resent event has
        the same (source, id) and golive applies it once.
        """
        try:
            async with asyncio.timeout(self._timeout):
                producer = await self._started()
                pending = [
                    await producer.send(
                        self.topic, value=r.value, key=r.key, headers=list(r.headers)
                    )
                    for r in records
                ]
                stored = await asyncio.gather(*pending)
        except (*BROKER_ERRORS, TimeoutError) as err:
            await self._discard()
            reason = (
                "timed out" if isinstance(err, TimeoutError) else str(err) or type(err).__name__
            )
            raise BrokerUnavailableError(f"the broker did not take the events: {reason}") from None
        return [Produced(m.topic, m.partition, m.offset) for m in stored]

    async def _started(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = make_producer(self._settings)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(*BROKER_ERRORS, TimeoutError):
                await asyncio.wait_for(producer.stop(), 5)

    async def close(self) -> None:
        await self._discard()


async def ensure_topics(settings: Settings, topics: Sequence[str], partitions: int = 6) -> None:
    """Create the topics that do not exist yet (the demo's broker starts empty)."""
    admin = make_admin(settings)
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
