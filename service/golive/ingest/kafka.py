"""Building aiokafka clients from settings, and translating their errors."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.errors import KafkaConnectionError, KafkaError  # type: ignore[import-untyped]

from golive.config import ConfigError, Settings


class BrokerUnavailableError(Exception):
    """The Kafka cluster cannot be reached or refused a request: retry later."""


BROKER_ERRORS = (KafkaError, KafkaConnectionError, OSError)


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection and security options shared by every client golive builds (consumer,
    producers, admin): the only place the security settings are read."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "client_id": "golive",
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifying the broker against the CA file (else the system's CAs), presenting the
    client certificate if one is set; a file that is not PEM fails naming its setting."""
    cafile, certfile = settings.kafka_ssl_cafile, settings.kafka_ssl_certfile
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (ssl.SSLError, OSError) as err:
        raise ConfigError(f"GOLIVE_KAFKA_SSL_CAFILE {cafile}: {err}") from None
    if certfile is not None:
        keyfile = settings.kafka_ssl_keyfile
        try:
            context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
        except (ssl.SSLError, OSError) as err:
            raise ConfigError(
                f"GOLIVE_KAFKA_SSL_CERTFILE {certfile} / GOLIVE_KAFKA_SSL_KEYFILE {keyfile}: {err}"
            ) from None
    return context


def make_consumer(settings: Settings, **overrides: Any) -> AIOKafkaConsumer:
    options = client_options(settings) | {
        "group_id": settings.kafka_group_id,
        "enable_auto_commit": False,  # offsets are committed after Postgres, by golive
        "auto_offset_reset": "earliest",  # a new group starts from the beginning: nothing lost
        "max_poll_records": settings.kafka_max_batch,
        "session_timeout_ms": int(settings.kafka_session_timeout.total_seconds() * 1000),
        "heartbeat_interval_ms": max(
            500, int(settings.kafka_session_timeout.total_seconds() * 1000) // 6
        ),
        "max_poll_interval_ms": 600_000,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
    }
    return AIOKafkaConsumer(**(options | overrides))


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    # Idempotent/transactional producers are not needed (dead letters are at-least-once
    # and the events table dedupes) and some Kafka-compatible brokers reject them.
    options = client_options(settings) | {"acks": "all", "enable_idempotence": False}
    return AIOKafkaProducer(**(options | overrides))


def make_admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**client_options(settings))
