"""golive's broker TLS settings reach aiokafka, against a listener that requires TLS.

The Tansu build we embed cannot serve TLS itself (0.6.0 puts `--cert` and `--key` in one
exclusive clap group, and needs both), nor check SASL against users it can hold: it offers
SCRAM only, and `tansu user create` is refused by a broker started with `--authentication`
while its only storage engine here is in memory. So the TLS listener here is a terminator
in this process, in front of a plaintext Tansu that advertises the terminator's port: every
Kafka connection golive makes (bootstrap, then the advertised broker) goes through TLS,
verified against a CA made for the test. SASL stays unit-tested at the settings boundary
(tests/unit/test_kafka_security.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.helpers import create_ssl_context  # type: ignore[import-untyped]

from golive.embedded import free_port
from golive.embedded.broker import EmbeddedBroker
from tests.integration.kafka import Record
from tests.integration.service import (
    InProcess,
    dump_state,
    running,
    service_env,
    wait_consumed,
    wait_for,
)
from tests.integration.streams import synthetic_stream

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Pki:
    cafile: Path
    certfile: Path
    keyfile: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost."""
    if shutil.which("openssl") is None:
        pytest.fail(
            "needs the openssl command to make test certificates: run scripts/install-tools.sh"
        )
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2",
             "-subj", "/CN=golive test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    _openssl("req", *ec, "-keyout", d / "server.key", "-out", d / "server.csr",
             "-subj", "/CN=127.0.0.1")  # fmt: skip
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl("x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key",
             "-CAcreateserial", "-out", d / "server.pem", "-days", "2",
             "-extfile", d / "server.ext")  # fmt: skip
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key")


class TlsTerminator:
    """Accepts TLS on 127.0.0.1:`port` and relays the plaintext to the broker."""

    def __init__(self, pki: Pki, port: int, upstream_port: int) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki.certfile, pki.keyfile)
        self.port, self.upstream_port = port, upstream_port
        self.handshakes = 0  # connections that completed a TLS handshake
        self._connections: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, HOST, self.port, ssl=self.context, ssl_handshake_timeout=5
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            broker_r, broker_w = await asyncio.open_connection(HOST, self.upstream_port)
            try:
                await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
            finally:
                await _close(broker_w)
        finally:
            await _close(client_w)
            self._connections.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    # One side hung up: end the other too, so its pipe ends.
    writer.close()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5)


@pytest.fixture(scope="module")
def tls_ports() -> tuple[int, int]:
    """(TLS listener port, plaintext broker port behind it)."""
    return free_port(HOST), free_port(HOST)


@pytest.fixture(scope="module")
def tls_broker(
    tls_ports: tuple[int, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Tansu on the plaintext port, advertising the TLS port. Module-wide: it starts in
    milliseconds, but a group's first join costs seconds either way."""
    tls_port, plain_port = tls_ports
    log_path = tmp_path_factory.mktemp("tansu-tls") / "tansu.log"
    with EmbeddedBroker(port=plain_port, log_path=log_path, advertised_port=tls_port):
        yield


@pytest_asyncio.fixture
async def tls_bootstrap(
    pki: Pki, tls_ports: tuple[int, int], tls_broker: None
) -> AsyncIterator[TlsTerminator]:
    """The TLS listener (in this test's event loop) in front of the module's broker."""
    terminator = TlsTerminator(pki, *tls_ports)
    await terminator.start()
    try:
        yield terminator
    finally:
        await terminator.stop()


async def create_tls_topic(bootstrap: str, pki: Pki, name: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        security_protocol="SSL",
        ssl_context=create_ssl_context(cafile=str(pki.cafile)),
    )
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name=name, num_partitions=3, replication_factor=1)], timeout_ms=10_000
        )
    finally:
        await admin.close()
    assert all(error[1] == 0 for error in response.topic_errors), response.topic_errors


async def produce_tls(
    bootstrap: str, pki: Pki, topic: str, records: list[Record]
) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        security_protocol="SSL",
        ssl_context=create_ssl_context(cafile=str(pki.cafile)),
        acks="all",
        enable_idempotence=False,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        metadata = await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in metadata]


@pytest.mark.asyncio
async def test_golive_ingests_over_tls_verified_against_the_ca_file(
    pki: Pki, tls_bootstrap: TlsTerminator, database_url: str
) -> None:
    bootstrap = f"{HOST}:{tls_bootstrap.port}"
    topic = "golive-tls-events"
    await create_tls_topic(bootstrap, pki, topic)
    records = synthetic_stream(60)
    env = service_env(
        bootstrap,
        topic,
        database_url,
        GOLIVE_KAFKA_SECURITY_PROTOCOL="SSL",
        GOLIVE_KAFKA_SSL_CAFILE=str(pki.cafile),
    )
    async with running(env) as service:
        landed = await produce_tls(bootstrap, pki, topic, records)
        await wait_consumed(database_url, landed)
        readiness = (await service.get("/readyz")).json()
    state = await dump_state(database_url)
    assert state["events"] == len(records)
    assert readiness["broker"] is True
    assert tls_bootstrap.handshakes > 0


@pytest.mark.asyncio
async def test_golive_in_plaintext_against_a_tls_listener_is_not_ready(
    pki: Pki, tls_bootstrap: TlsTerminator, database_url: str
) -> None:
    bootstrap = f"{HOST}:{tls_bootstrap.port}"
    env = service_env(bootstrap, "golive-tls-plaintext", database_url)
    async with running(env) as service:
        problems = await _broker_refused(service)
    assert tls_bootstrap.handshakes == 0  # a plaintext client never completes one
    assert "Unable to bootstrap" in problems["broker"], problems


@pytest.mark.asyncio
async def test_golive_rejects_a_broker_certificate_its_ca_file_did_not_sign(
    pki: Pki, tls_bootstrap: TlsTerminator, database_url: str, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", tmp_path / "other-ca.key", "-out", other_ca, "-days", "2",
             "-subj", "/CN=another CA")  # fmt: skip
    bootstrap = f"{HOST}:{tls_bootstrap.port}"
    env = service_env(
        bootstrap,
        "golive-tls-wrong-ca",
        database_url,
        GOLIVE_KAFKA_SECURITY_PROTOCOL="SSL",
        GOLIVE_KAFKA_SSL_CAFILE=str(other_ca),
    )
    async with running(env) as service:
        problems = await _broker_refused(service)
    assert "Unable to bootstrap" in problems["broker"], problems


async def _broker_refused(service: InProcess) -> dict[str, str]:
    """The /readyz problems once it answers 503 with the broker among them."""

    async def refused() -> bool:
        response = await service.get("/readyz")
        body = response.json()
        return response.status_code == 503 and not body["broker"] and "broker" in body["problems"]

    await wait_for(refused, timeout=30, what="/readyz 503 naming the broker")
    problems: dict[str, str] = (await service.get("/readyz")).json()["problems"]
    return problems
