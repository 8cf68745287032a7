"""The real parts the integration suite stands on: the session broker and Postgres, the
per-test topic and database fixtures, and the embedded servers' start and stop."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]

from golive.embedded import free_port
from golive.embedded.broker import EmbeddedBroker, kafka_probe
from golive.embedded.postgres import EmbeddedPostgres
from tests.integration.conftest import TOPIC_PARTITIONS
from tests.integration.databases import fresh_database
from tests.integration.kafka import (
    AssignmentListener,
    assigned_consumer,
    consume,
    produce,
)


def _pids_with_argument(argument: str) -> list[int]:
    """Pids of live processes whose command line contains `argument`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # exited while we looked
            continue
        if argument.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.asyncio
async def test_records_with_headers_read_back_from_their_partitions(
    kafka_bootstrap: str, topic: str
) -> None:
    pinned = [
        (b"svc-a", f"pinned-{i}".encode(), [("ce_type", b"dev.cdevents.x"), ("n", str(i).encode())])
        for i in range(3)
    ]
    keyed = [
        (f"key-{i}".encode(), f"keyed-{i}".encode(), [("ce_id", str(i).encode())]) for i in range(9)
    ]
    landed = await produce(kafka_bootstrap, topic, pinned, partition=4)
    landed += await produce(kafka_bootstrap, topic, keyed)
    assert landed[:3] == [(4, 0), (4, 1), (4, 2)]
    sent = {
        value: (key, headers, place)
        for (key, value, headers), place in zip(pinned + keyed, landed, strict=True)
    }

    consumer = assigned_consumer(kafka_bootstrap, topic, TOPIC_PARTITIONS)
    await consumer.start()
    try:
        records = await consume(consumer, len(sent))
        got = {r.value: (r.key, list(r.headers), (r.partition, r.offset)) for r in records}
        assert got == sent
        assert consumer.partitions_for_topic(topic) == set(range(TOPIC_PARTITIONS))
        # Tansu's end_offsets() is wrong after batched sends; highwater() is what golive uses.
        per_partition = {
            p: sum(1 for part, _ in landed if part == p) for p in range(TOPIC_PARTITIONS)
        }
        for partition, count in per_partition.items():
            if count:
                assert consumer.highwater(TopicPartition(topic, partition)) == count
    finally:
        await consumer.stop()


@pytest.mark.asyncio
async def test_group_consumer_resumes_from_the_committed_offset(
    kafka_bootstrap: str, topic: str
) -> None:
    group = f"{topic}-group"
    partition = TopicPartition(topic, 0)
    await produce(
        kafka_bootstrap, topic, [(None, f"r{i}".encode(), []) for i in range(5)], partition=0
    )

    def member() -> tuple[AIOKafkaConsumer, AssignmentListener]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A short session lets the rejoin after a clean stop complete sooner.
            session_timeout_ms=6_000,
            heartbeat_interval_ms=1_000,
        )
        listener = AssignmentListener()
        consumer.subscribe([topic], listener=listener)
        return consumer, listener

    first, listener = member()
    await first.start()
    try:
        assert partition in await listener.wait()
        records = await consume(first, 5)
        assert [r.value for r in records] == [b"r0", b"r1", b"r2", b"r3", b"r4"]
        # Processed up to r2 only: the next member must start at offset 3.
        await first.commit({partition: 3})
    finally:
        await first.stop()

    second, listener = member()
    await second.start()
    try:
        assert partition in await listener.wait()
        assert await second.committed(partition) == 3
        records = await consume(second, 2)
        assert [(r.offset, r.value) for r in records] == [(3, b"r3"), (4, b"r4")]
    finally:
        await second.stop()


@pytest.mark.asyncio
async def test_fresh_databases_are_isolated_and_dropped_afterwards(
    postgres_dsn: str, database_url: str
) -> None:
    async with fresh_database(postgres_dsn) as other_url:
        assert other_url != database_url
        one = await asyncpg.connect(database_url, timeout=10)
        two = await asyncpg.connect(other_url, timeout=10)
        try:
            await one.execute("CREATE TABLE releases (name text)")
            await one.execute("INSERT INTO releases VALUES ('checkout-1.2')")
            assert await two.fetchval("SELECT to_regclass('releases')") is None
            await two.execute("CREATE TABLE releases (name text)")
            assert await two.fetchval("SELECT count(*) FROM releases") == 0
            assert await one.fetchval("SELECT name FROM releases") == "checkout-1.2"
            other_name = await two.fetchval("SELECT current_database()")
            assert other_name.startswith("golive_test_")
        finally:
            await one.close(timeout=10)
            await two.close(timeout=10)

    server = await asyncpg.connect(postgres_dsn, timeout=10)
    try:
        # Dropped even though nothing closed its pool explicitly beforehand.
        assert (
            await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", other_name)
            is None
        )
    finally:
        await server.close(timeout=10)


def test_broker_stop_and_kill_leave_no_process_and_it_restarts_on_its_port(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    listener = f"tcp://{broker.bootstrap_servers}"
    with broker:
        pid = broker.pid
        assert pid is not None
        assert _pids_with_argument(listener) == [pid]
        kafka_probe("127.0.0.1", broker.port, timeout=1.0)

        broker.kill()
        assert broker.pid is None
        assert not _pid_exists(pid)
        assert not _port_accepts(broker.port)

        # A crash then a restart on the same port, as fault tests do.
        broker.start()
        restarted = broker.pid
        assert restarted is not None
        assert restarted != pid
        kafka_probe("127.0.0.1", broker.port, timeout=1.0)

    assert broker.pid is None
    assert not _pid_exists(restarted)
    assert _pids_with_argument(listener) == []
    assert not _port_accepts(broker.port)
    assert "listening on" in (tmp_path / "tansu.log").read_text()
    broker.stop()  # idempotent


def test_embedded_postgres_starts_on_a_free_port_and_keeps_a_given_data_dir() -> None:
    # Not pytest's tmp_path: as root the server runs as another user, who must traverse
    # the parents, and every pytest session resets /tmp/pytest-of-root to 0700.
    with tempfile.TemporaryDirectory(prefix="golive-test-pgdata-") as parent:
        _start_stop_and_restart(Path(parent) / "pgdata")


def _start_stop_and_restart(data_dir: Path) -> None:
    # Its own port, even when a local server already listens on 5432.
    server = EmbeddedPostgres(data_dir=data_dir, port=free_port())

    async def run(sql: str) -> object:
        connection = await asyncpg.connect(server.dsn, timeout=10)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close(timeout=10)

    with server:
        pid = server.pid
        assert pid is not None
        assert server.dsn == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        assert str(asyncio.run(run("SHOW server_version"))).startswith("18")
        asyncio.run(run("CREATE TABLE kept AS SELECT 42 AS answer"))
    assert not _pid_exists(pid)
    assert not _port_accepts(server.port)
    assert (data_dir / "PG_VERSION").exists()

    # A second start reuses the initialised data dir.
    with server:
        assert asyncio.run(run("SELECT answer FROM kept")) == 42
    server.stop()  # idempotent


def test_embedded_postgres_without_data_dir_removes_its_temporary_data() -> None:
    with EmbeddedPostgres() as server:
        data_dir = server.data_dir
        assert data_dir is not None
        assert (data_dir / "PG_VERSION").exists()
    assert server.pid is None
    assert not data_dir.exists()
