"""Kafka helpers for integration tests: produce records, wait for a group assignment, and
consume a known number of records, each bounded by a timeout.

Plain aiokafka clients, never idempotent: this Tansu build fails InitProducerId.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.abc import ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.structs import ConsumerRecord, TopicPartition  # type: ignore[import-untyped]

Header = tuple[str, bytes]
Record = tuple[bytes | None, bytes, list[Header]]


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """Create `name`; fails naming the broker's per-topic error (the reply carries them
    rather than raising them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name=name, num_partitions=partitions, replication_factor=1)],
            timeout_ms=10_000,
        )
    finally:
        await admin.close()
    failed = [error for error in response.topic_errors if error[1] != 0]
    assert not failed, f"creating topic {name} on {bootstrap} failed: {failed}"


async def produce(
    bootstrap: str, topic: str, records: Sequence[Record], partition: int | None = None
) -> list[tuple[int, int]]:
    """Send `records` (key, value, headers) and return where each landed: (partition, offset).

    Sends are batched (all in flight, then awaited), as a real producer does; per partition
    the order of `records` is kept.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers, partition=partition)
            for key, value, headers in records
        ]
        metadata = await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in metadata]


class AssignmentListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Sets an event when a subscribed consumer's group join hands it partitions.

    A group's first join on Tansu takes ~5 s, a rejoin right after a clean stop up to
    ~18 s: tests wait for this event, bounded, never for a guessed duration.
    """

    def __init__(self) -> None:
        self._assigned = asyncio.Event()
        self.partitions: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._assigned.clear()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.partitions = set(assigned)
        self._assigned.set()

    async def wait(self, timeout: float = 60.0) -> set[TopicPartition]:
        await asyncio.wait_for(self._assigned.wait(), timeout)
        return self.partitions


async def consume(
    consumer: AIOKafkaConsumer, count: int, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Exactly `count` records from `consumer`, in fetch order; fails on timeout."""
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(timeout):
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=count - len(records))
            for batch in batches.values():
                records.extend(batch)
    return records


def assigned_consumer(bootstrap: str, topic: str, partitions: int) -> AIOKafkaConsumer:
    """A consumer without a group reading `partitions` of `topic` from the beginning."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    return consumer
