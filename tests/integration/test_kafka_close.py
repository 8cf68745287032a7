"""Closing ingest's Kafka clients when leaving the group takes too long."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from golive.ingest import consumer as ingest


@pytest.mark.asyncio
async def test_clients_whose_close_is_abandoned_leave_no_socket_open(
    kafka_bootstrap: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stop cut short used to leave the clients' sockets open: they leaked, and warned
    # when collected after the loop had closed (a flaky teardown error in CI).
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=f"g-{topic}")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await consumer.start()
    await consumer.getmany(timeout_ms=500)  # joins the group: more connections
    connections = [
        *consumer._client._conns.values(),  # type: ignore[attr-defined]
        *producer.client._conns.values(),  # type: ignore[attr-defined]
    ]
    assert connections
    assert all(c.connected() for c in connections)
    monkeypatch.setattr(ingest, "CLOSE_TIMEOUT", 0.0)  # every stop is abandoned at once
    await ingest._close(consumer, producer)
    assert not any(c.connected() for c in connections)
