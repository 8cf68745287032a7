"""`make reliability`: fault runs against a real broker, Postgres and `golive run`.

The integration suite's fixtures (broker, Postgres, fresh databases and topics) are
reused; each run adds its figures to the session's ledger, written to
`build/reliability.json` (or `$GOLIVE_RELIABILITY_REPORT`) and printed at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures, by name)
    _collect_garbage_in_teardown,
    database_url,
    kafka_bootstrap,
    postgres_dsn,
    topic,
)
from tests.reliability.ledger import Ledger

_LEDGER = Ledger()


@pytest.fixture(scope="session")
def ledger() -> Iterator[Ledger]:
    yield _LEDGER
    if _LEDGER.runs:
        _LEDGER.write()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LEDGER.runs:
        terminalreporter.section("fault runs (lost must be 0)")
        for line in _LEDGER.table():
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A fault run lasts minutes, not the suite's default 120 s.
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.timeout(600))
