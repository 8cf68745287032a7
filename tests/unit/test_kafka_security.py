"""Broker security settings reach every Kafka client golive builds, and combinations that
cannot work stop the start naming the setting. Clients are built, never connected."""

from __future__ import annotations

import ast
import asyncio
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from golive.config import ConfigError, Settings, load_settings
from golive.ingest.kafka import client_options, make_admin, make_consumer, make_producer
from golive.ingest.producer import EventProducer

SERVICE = Path(__file__).resolve().parents[2] / "service" / "golive"
PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("GOLIVE_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A self-signed certificate (also the CA file), its key, and both in one PEM."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "client.crt", folder / "client.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=golive-test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    both = folder / "client.pem"
    both.write_text(cert.read_text() + key.read_text())
    return cert, key, both


def secured(protocol: str, mechanism: str | None = None, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": ["kafka:9093"],
        "kafka_security_protocol": protocol,
    }
    if protocol.startswith("SASL"):
        values |= {"kafka_sasl_username": "golive", "kafka_sasl_password": "pa55word"}
        if mechanism is not None:
            values["kafka_sasl_mechanism"] = mechanism
    return load_settings(**(values | extra))


def _built_clients(settings: Settings) -> dict[str, Any]:
    """The aiokafka connection object of each client kind golive builds."""

    async def build() -> dict[str, Any]:
        consumer = make_consumer(settings)
        producer = make_producer(settings)
        admin = make_admin(settings)
        clients = {
            "consumer": consumer._client,
            "producer": producer.client,
            "admin": admin._client,
        }
        # Never started: stopping only marks them closed (else they warn when collected).
        await producer.stop()
        await consumer.stop()
        await admin.close()
        return clients

    return asyncio.run(build())


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [(p, None) for p in PROTOCOLS if not p.startswith("SASL")]
    + [(p, m) for p in PROTOCOLS if p.startswith("SASL") for m in MECHANISMS],
)
def test_every_client_carries_the_security_protocol_and_sasl_mechanism(
    protocol: str, mechanism: str | None
) -> None:
    settings = secured(protocol, mechanism)

    for kind, client in _built_clients(settings).items():
        assert client._security_protocol == protocol, kind
        assert isinstance(client._ssl_context, ssl.SSLContext) is protocol.endswith("SSL"), kind
        if protocol.startswith("SASL"):
            assert client._sasl_mechanism == mechanism, kind
            assert client._sasl_plain_username == "golive", kind
            assert client._sasl_plain_password == "pa55word", kind
        else:
            assert client._sasl_plain_username is None, kind
            assert client._sasl_plain_password is None, kind


def test_sasl_without_a_mechanism_is_plain() -> None:
    assert client_options(secured("SASL_SSL"))["sasl_mechanism"] == "PLAIN"


def test_tls_verifies_the_broker_against_the_ca_file(tls_files: tuple[Path, Path, Path]) -> None:
    cert, _key, _both = tls_files
    context = client_options(secured("SSL", kafka_ssl_cafile=cert))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "golive-test"),),)]


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_a_client_certificate_and_key_are_presented_for_mtls(
    protocol: str, tls_files: tuple[Path, Path, Path]
) -> None:
    cert, key, both = tls_files
    # load_cert_chain raises on a certificate whose key does not match, so building is proof.
    client_options(secured(protocol, kafka_ssl_certfile=cert, kafka_ssl_keyfile=key))
    client_options(secured(protocol, kafka_ssl_certfile=both))


def test_the_producers_of_the_api_watcher_and_emit_check_tls_files_at_construction(
    tls_files: tuple[Path, Path, Path],
) -> None:
    cert, _key, _both = tls_files
    not_pem = cert.with_name("not-pem.crt")
    not_pem.write_text("not a certificate")
    with pytest.raises(ConfigError, match="GOLIVE_KAFKA_SSL_CAFILE"):
        EventProducer(secured("SSL", kafka_ssl_cafile=not_pem))
    with pytest.raises(ConfigError, match="GOLIVE_KAFKA_SSL_CERTFILE"):
        EventProducer(secured("SSL", kafka_ssl_certfile=not_pem))


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SECURITY_PROTOCOL": "SASL_SSL"}, "GOLIVE_KAFKA_SASL_USERNAME"),
        (
            {"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_MECHANISM": "SCRAM-SHA-512"},
            "GOLIVE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"SECURITY_PROTOCOL": "SASL_SSL", "SASL_USERNAME": "golive"},
            "GOLIVE_KAFKA_SASL_PASSWORD",
        ),
        ({"SASL_MECHANISM": "PLAIN"}, "GOLIVE_KAFKA_SASL_MECHANISM"),
        ({"SECURITY_PROTOCOL": "SSL", "SASL_PASSWORD": "x"}, "GOLIVE_KAFKA_SASL_PASSWORD"),
        ({"SSL_CAFILE": "/etc/hosts"}, "GOLIVE_KAFKA_SSL_CAFILE"),
        (
            {
                "SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "SASL_USERNAME": "golive",
                "SASL_PASSWORD": "pa55word",
                "SSL_CERTFILE": "/etc/hosts",
            },
            "GOLIVE_KAFKA_SSL_CERTFILE",
        ),
        ({"SECURITY_PROTOCOL": "SSL", "SSL_CAFILE": "/nonexistent/ca.pem"}, "no such file"),
        (
            {"SECURITY_PROTOCOL": "SSL", "SSL_KEYFILE": "/etc/hosts"},
            "without GOLIVE_KAFKA_SSL_CERT",
        ),
        ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "GSSAPI"}, "SASL_MECHANISM"),
        ({"SECURITY_PROTOCOL": "TLS"}, "GOLIVE_KAFKA_SECURITY_PROTOCOL"),
    ],
)
def test_security_settings_that_cannot_work_fail_at_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(f"GOLIVE_KAFKA_{key}", value)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_a_missing_ca_file_is_named_with_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("GOLIVE_KAFKA_SSL_CAFILE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid settings: GOLIVE_KAFKA_SSL_CAFILE /nonexistent/ca.pem: no such file"
    )


def _constructed_names(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            yield node.lineno, name


def test_every_kafka_client_is_built_by_the_builders_that_read_the_security_settings() -> None:
    # The consumer, the dead-letter producer, the API's, watcher's and `golive emit`'s
    # producers (EventProducer), playback and topic creation all go through
    # ingest/kafka.py; a client constructed anywhere else would skip SASL and TLS.
    builders = SERVICE / "ingest" / "kafka.py"
    elsewhere = [
        f"{path.relative_to(SERVICE)}:{line} builds {name}"
        for path in sorted(SERVICE.rglob("*.py"))
        if path != builders
        for line, name in _constructed_names(path)
        if name.startswith("AIOKafka")
    ]
    assert elsewhere == []
