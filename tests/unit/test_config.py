"""Settings: environment parsing, defaults, and messages that name the variable."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from golive.config import ConfigError, load_settings
from golive.ingest.kafka import make_consumer


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("GOLIVE_"):
            monkeypatch.delenv(key)


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.kafka_topics == ["golive.events"]
    assert settings.kafka_group_id == "golive"
    assert settings.kafka_dlq_topic == "golive.events.dlq"
    assert settings.http_listen == "127.0.0.1:8080"
    assert settings.evaluation_interval == timedelta(seconds=30)
    assert settings.max_event_bytes == 1024 * 1024


def test_comma_lists_and_durations_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9092")
    monkeypatch.setenv("GOLIVE_KAFKA_TOPICS", "a,b")
    monkeypatch.setenv("GOLIVE_EVALUATION_INTERVAL", "1m30s")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.kafka_topics == ["a", "b"]
    assert settings.evaluation_interval == timedelta(seconds=90)


def test_secrets_are_masked_when_described(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_DATABASE_URL", "postgresql://golive:hunter2@db/golive")
    monkeypatch.setenv("GOLIVE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("GOLIVE_KAFKA_SASL_USERNAME", "golive")
    monkeypatch.setenv("GOLIVE_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("GOLIVE_API_TOKEN", "write-t0ken")
    monkeypatch.setenv("GOLIVE_API_READ_TOKEN", "read-t0ken")
    monkeypatch.setenv("GOLIVE_REPORT_WEBHOOK_URL", "https://hooks.example/s3cret-path")
    monkeypatch.setenv("GOLIVE_REPORT_WEBHOOK_TOKEN", "hook-t0ken")
    described = str(load_settings().describe())
    for secret in ("hunter2", "s3cret", "t0ken"):
        assert secret not in described


def test_missing_bootstrap_servers_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="GOLIVE_KAFKA_BOOTSTRAP_SERVERS is not set"):
        load_settings().require_kafka()


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_HTTP_LISTEN", "8080")
    with pytest.raises(ConfigError, match="GOLIVE_HTTP_LISTEN"):
        load_settings()


def test_config_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    path = tmp_path / "golive.toml"  # type: ignore[operator]
    path.write_text('kafka_group_id = "from-file"\nkafka_dlq_topic = "file.dlq"\n')
    monkeypatch.setenv("GOLIVE_CONFIG_FILE", str(path))
    monkeypatch.setenv("GOLIVE_KAFKA_GROUP_ID", "from-env")
    settings = load_settings()
    assert (settings.kafka_group_id, settings.kafka_dlq_topic) == ("from-env", "file.dlq")


def test_the_log_masks_every_secret_and_the_passwords_inside_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from golive.logs import JsonFormatter

    monkeypatch.setenv("GOLIVE_DATABASE_URL", "postgresql://golive:hunter2@db/golive")
    monkeypatch.setenv("GOLIVE_API_TOKEN", "write-t0ken")
    monkeypatch.setenv("GOLIVE_REPORT_WEBHOOK_URL", "https://bot:hook-pw@hooks.example/x")
    formatter = JsonFormatter(load_settings().secret_values())
    try:
        raise ValueError("connect to postgresql://golive:hunter2@db/golive failed")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "golive", logging.WARNING, __file__, 1, "token %s, %s", ("write-t0ken", "hook-pw"), None
        )
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    for secret in ("hunter2", "write-t0ken", "hook-pw"):
        assert secret not in line
    assert "token ***, ***" in line
    assert "connect to *** failed" in line


def test_fetch_wait_is_short_by_default_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # aiokafka's 500 ms default is a p99 of 250 ms on brokers that hold a fetch whole.
    assert load_settings().kafka_fetch_max_wait == timedelta(milliseconds=100)
    monkeypatch.setenv("GOLIVE_KAFKA_FETCH_MAX_WAIT", "50ms")
    assert load_settings().kafka_fetch_max_wait == timedelta(milliseconds=50)
    for refused in ("0s", "1m"):
        monkeypatch.setenv("GOLIVE_KAFKA_FETCH_MAX_WAIT", refused)
        with pytest.raises(ConfigError, match=r"GOLIVE_KAFKA_FETCH_MAX_WAIT.*between 1ms and 10s"):
            load_settings()


@pytest.mark.parametrize(
    ("variable", "refused", "message"),
    [
        ("GOLIVE_EVALUATION_INTERVAL", "0s", "at least 1s"),
        ("GOLIVE_EVALUATION_INTERVAL", "500ms", "at least 1s"),
        ("GOLIVE_DERIVE_INTERVAL", "0s", "at least 100ms"),
        ("GOLIVE_DERIVE_INTERVAL", "10ms", "at least 100ms"),
    ],
)
def test_a_leader_interval_too_short_to_leave_ingest_a_core_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, refused: str, message: str
) -> None:
    monkeypatch.setenv("GOLIVE_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv(variable, refused)
    with pytest.raises(ConfigError, match=rf"{variable}.*{message}"):
        load_settings()


def test_the_shortest_leader_intervals_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("GOLIVE_EVALUATION_INTERVAL", "1s")
    monkeypatch.setenv("GOLIVE_DERIVE_INTERVAL", "100ms")
    settings = load_settings()
    assert settings.evaluation_interval == timedelta(seconds=1)
    assert settings.derive_interval == timedelta(milliseconds=100)


def test_the_consumer_fetches_with_the_configured_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("GOLIVE_KAFKA_FETCH_MAX_WAIT", "20ms")

    async def wait_of_a_consumer() -> int:
        consumer = make_consumer(load_settings())
        await consumer.stop()  # never started: only marks it closed
        return int(consumer._fetch_max_wait_ms)

    assert asyncio.run(wait_of_a_consumer()) == 20
