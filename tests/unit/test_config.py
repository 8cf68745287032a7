"""Settings: environment parsing, defaults, and messages that name the variable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from golive.config import ConfigError, load_settings


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
    monkeypatch.setenv("GOLIVE_KAFKA_SASL_PASSWORD", "s3cret")
    described = str(load_settings().describe())
    assert "hunter2" not in described
    assert "s3cret" not in described


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
