"""Shared test helpers: where the CDEvents conformance examples live, event builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from golive.api.app import PoolGetter, create_app
from golive.clock import Clock
from golive.domain.catalog import Catalog
from golive.health import Health

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


def golive_app(pool: PoolGetter, catalog: Catalog, clock: Clock) -> FastAPI:
    """golive's HTTP application alone: no broker, no leader, nothing ready."""
    return create_app(
        health=Health(),
        registry=CollectorRegistry(),
        state_metrics=lambda: b"",
        pool=pool,
        catalog=catalog,
        clock=clock,
    )
