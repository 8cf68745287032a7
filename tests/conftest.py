"""Shared test helpers: where the CDEvents conformance examples live, event builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cdevents_dir() -> Path:
    """The CDEvents schemas and conformance examples (`../shared/cdevents` by default)."""
    return Path(os.environ.get("GOLIVE_CDEVENTS_DIR", REPO.parent / "shared" / "cdevents"))


def conformance_files() -> list[Path]:
    files = sorted(cdevents_dir().glob("*/conformance/*.json"))
    if not files:
        pytest.fail(
            f"no CDEvents conformance examples under {cdevents_dir()}: set GOLIVE_CDEVENTS_DIR"
        )
    return files
