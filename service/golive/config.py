"""Settings: one frozen model, read from `GOLIVE_*` environment variables (and an
optional TOML file with the same keys, named by `GOLIVE_CONFIG_FILE`).

Validated at start; `describe()` gives a loggable view without secrets.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from golive.contract import DEFAULT_MAX_EVENT_BYTES
from golive.domain.catalog import (
    EMPTY_CATALOG,
    Catalog,
    CatalogError,
    parse_catalog,
    parse_duration,
)
from golive.domain.periods import PERIOD_KINDS, PeriodKind, require_timezone

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


# Durations that make no sense outside a range: (least, most or None, an example).
_DURATION_BOUNDS: dict[str, tuple[str, str | None, str]] = {
    # 0 would make an idle consumer fetch without pause; past the client's request
    # timeout (40 s), every fetch of an idle topic would time out.
    "kafka_fetch_max_wait": ("1ms", "10s", "100ms"),
    # 0 would spin the leader's loop on a core ingest needs; this is also how often a
    # standby tries to take the lease over.
    "evaluation_interval": ("1s", None, "30s"),
    # 0 would spin the leader process on a core ingest needs.
    "derive_interval": ("100ms", None, "1s"),
}


class ConfigError(Exception):
    """A setting golive cannot start with; the message names the variable."""


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLIVE_", frozen=True, extra="ignore")

    # Comma lists on the environment, not JSON: `NoDecode` hands the raw string to `_comma_list`.
    kafka_bootstrap_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    kafka_topics: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["golive.events"])
    kafka_group_id: str = "golive"
    kafka_dlq_topic: str = "golive.events.dlq"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    # SASL_*: PLAIN unless set; username and password are then required.
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # SSL, SASL_SSL: the CA bundle (default: the system's), and a client certificate and
    # key for brokers that authenticate clients by TLS (mTLS; the key may be in the cert).
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # While catching up, a batch's fixed costs (round trips, each touched entity encoded
    # once) spread over more events; two batches are in memory at once (one written, the
    # next prepared). In bench.throughput, 10,000 caught up 1.1x faster than 5,000 and
    # peaked 43 MiB higher, past the 300 MB an instance is allowed (docs/performance.md).
    # When caught up, batches hold what arrived meanwhile, however large this is.
    kafka_max_batch: int = Field(default=5000, ge=1)
    # Entities ingest keeps in memory between batches (store.cache): a batch is folded onto
    # them while the batch before it commits, instead of reading them back. 0: none.
    entity_cache_size: int = Field(default=20000, ge=0)
    # How long the group waits for a crashed instance before reassigning its partitions.
    kafka_session_timeout: timedelta = timedelta(seconds=10)
    # How long a fetch may wait at the broker for records. Kafka answers as soon as one
    # arrives, but some brokers hold the fetch for the whole wait: with Tansu at 2,000
    # events/s, a bare consumer's p99 was 256 ms with aiokafka's 500 ms and 53-55 ms with
    # 100 ms (docs/performance.md). An idle consumer fetches this often; it costs little.
    kafka_fetch_max_wait: timedelta = timedelta(milliseconds=100)
    database_url: SecretStr | None = None
    http_listen: str = "127.0.0.1:8080"
    alertmanager_url: str | None = None
    # Base of the links in alerts (generatorURL); default http://GOLIVE_HTTP_LISTEN.
    public_url: str | None = None
    catalog_file: Path | None = None
    # Bearer token of POST /api/v1/events; unset: the endpoint answers 403.
    api_token: SecretStr | None = None
    # Bearer token of the read endpoints (GET /api/v1/*; the write token is taken too);
    # unset: reads are open. /healthz, /readyz, /metrics and the OpenAPI docs stay open.
    api_read_token: SecretStr | None = None
    # Largest body of a batch POSTed to /api/v1/events (one event: max_event_bytes).
    api_max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Events per second POST /api/v1/events takes on one instance (429 above); 0: no limit.
    api_event_rate: float = Field(default=1000.0, ge=0)
    evaluation_interval: timedelta = timedelta(seconds=30)
    # How often the leader derives the deployments and recoveries batches queued: the
    # most the derived tables lag the events (their KPIs are derived at each evaluation).
    derive_interval: timedelta = timedelta(seconds=1)
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=1024)
    # How far ahead of this instance's clock an event time may be; later: dead-lettered
    # (a time in year 9999 would keep a team active and a deployment newest forever).
    max_clock_skew: timedelta = timedelta(days=1)
    log_level: str = "INFO"
    # The zone report periods are cut in (a day is a local day): an IANA name.
    report_timezone: str = "UTC"
    # The periods the leader publishes when they close; empty: publish none.
    report_periods: Annotated[list[PeriodKind], NoDecode] = Field(
        default_factory=lambda: list(PERIOD_KINDS)
    )
    # How long after a period's end its report waits for late events before publication.
    report_publish_delay: timedelta = timedelta(minutes=15)
    # Where each published report is POSTed (JSON); a URL may hold a secret, hence SecretStr.
    report_webhook_url: SecretStr | None = None
    report_webhook_token: SecretStr | None = None
    # `golive watch-kubernetes` (docs/orchestrators.md, "Kubernetes").
    kubernetes_namespaces: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Environment of a namespace's rollouts: NS=ENV pairs, else the default, else the
    # namespace's own name; a Deployment's `golive.dev/environment` label wins.
    kubernetes_namespace_environments: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict
    )
    kubernetes_environment: str | None = None
    # Unset: the pod's service account in a cluster, else $KUBECONFIG or ~/.kube/config.
    kubernetes_kubeconfig: Path | None = None
    kubernetes_context: str | None = None
    # Count ready pods (precise, one more watch); false: ReplicaSets' readyReplicas.
    kubernetes_watch_pods: bool = True
    # Names the cluster in the events' source: give each watched cluster its own.
    kubernetes_cluster: str = "kubernetes"

    @field_validator("kafka_bootstrap_servers", "kafka_topics", "report_periods", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("kubernetes_namespaces", mode="before")
    @classmethod
    def _namespaces(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("kubernetes_namespace_environments", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs = {}
        for part in _split(value):
            key, sep, env = part.partition("=")
            if not sep or not key.strip() or not env.strip():
                raise ValueError(f"{part!r}: expected NAMESPACE=ENVIRONMENT, e.g. shop=prod")
            pairs[key.strip()] = env.strip()
        return pairs

    @field_validator(
        "evaluation_interval",
        "derive_interval",
        "kafka_session_timeout",
        "kafka_fetch_max_wait",
        "report_publish_delay",
        "max_clock_skew",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator(*_DURATION_BOUNDS)
    @classmethod
    def _bounded_duration(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        least, most, example = _DURATION_BOUNDS[str(info.field_name)]
        if value < parse_duration(least) or (most is not None and value > parse_duration(most)):
            span = f"between {least} and {most}" if most is not None else f"at least {least}"
            raise ValueError(f"must be {span}, e.g. {example}")
        return value

    @field_validator("report_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return require_timezone(value)

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked now: asyncpg would fail on each connection attempt instead, and the
        # message must not repeat the DSN (it holds the password).
        if value is None:
            return value
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        try:
            parts.port  # noqa: B018 (parses the port, raising ValueError if it is not one)
        except ValueError:
            raise ValueError("the port is not a number") from None
        return value

    @field_validator("report_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("api_token", "api_read_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty: set a long random token, or unset it")
        return value

    @model_validator(mode="after")
    def _kafka_security(self) -> Self:
        """Security settings the protocol would ignore, or cannot work with: refused at
        start, not found out at the first connection (or never, silently unencrypted)."""
        protocol = self.kafka_security_protocol
        sasl = {
            "GOLIVE_KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
            "GOLIVE_KAFKA_SASL_USERNAME": self.kafka_sasl_username,
            "GOLIVE_KAFKA_SASL_PASSWORD": self.kafka_sasl_password,
        }
        tls = {
            "GOLIVE_KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "GOLIVE_KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "GOLIVE_KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        if protocol.startswith("SASL"):
            missing = [name for name, v in list(sasl.items())[1:] if not v]
            if missing:
                raise ValueError(
                    f"GOLIVE_KAFKA_SECURITY_PROTOCOL={protocol} needs {' and '.join(missing)}"
                )
        else:
            unused = [name for name, v in sasl.items() if v is not None]
            if unused:
                raise ValueError(
                    f"{', '.join(unused)} set but GOLIVE_KAFKA_SECURITY_PROTOCOL={protocol}: "
                    "use SASL_SSL (or SASL_PLAINTEXT), or unset them"
                )
        if not protocol.endswith("SSL"):
            unused = [name for name, v in tls.items() if v is not None]
            if unused:
                raise ValueError(
                    f"{', '.join(unused)} set but GOLIVE_KAFKA_SECURITY_PROTOCOL={protocol}: "
                    "use SSL (or SASL_SSL), or unset them"
                )
        for name, path in tls.items():
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path}: no such file")
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise ValueError("GOLIVE_KAFKA_SSL_KEYFILE is set without GOLIVE_KAFKA_SSL_CERTFILE")
        return self

    @field_validator("http_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    @property
    def http_host(self) -> str:
        return self.http_listen.rpartition(":")[0]

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http_listen}").rstrip("/")

    @property
    def http_port(self) -> int:
        return int(self.http_listen.rpartition(":")[2])

    @property
    def kafka_fetch_max_wait_ms(self) -> int:
        """The fetch wait as the Kafka client takes it (at least 1, as validated)."""
        return round(self.kafka_fetch_max_wait / timedelta(milliseconds=1))

    def describe(self) -> dict[str, Any]:
        """Every setting, secrets masked: safe to log."""
        return {k: ("***" if isinstance(v, SecretStr) else str(v)) for k, v in self}

    def secret_values(self) -> list[str]:
        """Every secret's value, and the password inside the database URL and the webhook
        URL: what the log masks wherever it appears."""
        values = [v.get_secret_value() for _, v in self if isinstance(v, SecretStr)]
        for url in (self.database_url, self.report_webhook_url):
            if url is not None:
                password = urlsplit(url.get_secret_value()).password
                values.append(password or "")
        return [v for v in values if v]

    def require_kafka(self) -> None:
        if not self.kafka_bootstrap_servers:
            raise ConfigError(
                "GOLIVE_KAFKA_BOOTSTRAP_SERVERS is not set: name your brokers "
                "(e.g. kafka-1:9092,kafka-2:9092), or use `golive demo` for a local broker"
            )

    def require_database(self) -> str:
        if self.database_url is None:
            raise ConfigError(
                "GOLIVE_DATABASE_URL is not set: give a Postgres DSN, "
                "e.g. postgresql://golive@db:5432/golive"
            )
        return self.database_url.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the TOML file (if any), overridden by the environment, then `overrides`."""
    file_values: dict[str, Any] = {}
    path = os.environ.get("GOLIVE_CONFIG_FILE")
    if path:
        try:
            file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"GOLIVE_CONFIG_FILE {path}: {err}") from None
    env_keys = {k.removeprefix("GOLIVE_").lower() for k in os.environ if k.startswith("GOLIVE_")}
    values = {k: v for k, v in file_values.items() if k not in env_keys} | overrides
    try:
        return Settings(**values)
    except SettingsError as err:
        raise ConfigError(f"invalid settings: {err}") from None
    except ValidationError as err:
        # Never the input: it may be a secret (a token, a password, a DSN).
        problems = "; ".join(
            f"GOLIVE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in err.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def load_catalog(settings: Settings) -> Catalog:
    """The catalog named by GOLIVE_CATALOG_FILE, or the empty one (documented defaults)."""
    if settings.catalog_file is None:
        return EMPTY_CATALOG
    try:
        data = tomllib.loads(settings.catalog_file.read_text(encoding="utf-8"))
        return parse_catalog(data)
    except OSError as err:
        raise ConfigError(f"GOLIVE_CATALOG_FILE {settings.catalog_file}: {err.strerror}") from None
    except (tomllib.TOMLDecodeError, CatalogError) as err:
        raise ConfigError(f"GOLIVE_CATALOG_FILE {settings.catalog_file}: {err}") from None
