"""The OpenAPI document lists every endpoint with its error answers and typed bodies."""

from __future__ import annotations

from typing import Any

from golive.clock import SystemClock
from golive.domain.catalog import EMPTY_CATALOG
from tests.conftest import golive_app


def document() -> dict[str, Any]:
    app = golive_app(lambda: None, EMPTY_CATALOG, SystemClock())
    return app.openapi()


def test_every_route_is_in_the_document() -> None:
    assert set(document()["paths"]) == {
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/releases",
        "/api/v1/releases/{release_id}",
        "/api/v1/alerts",
        "/api/v1/teams",
        "/api/v1/rollouts",
        "/api/v1/deployments",
        "/api/v1/reports",
        "/api/v1/reports/{period}",
        "/api/v1/reports/{period}/{label}",
        "/api/v1/events",
    }


def test_event_ingestion_documents_its_modes_statuses_and_token() -> None:
    doc = document()
    post = doc["paths"]["/api/v1/events"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/json",
    }
    assert set(post["responses"]) == {"202", "400", "401", "403", "413", "415", "429", "503"}
    assert post["security"] == [{"HTTPBearer": []}]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_reads_document_the_database_being_away_and_their_bodies() -> None:
    doc = document()
    for path, operations in doc["paths"].items():
        if path.startswith("/api/v1/") and "get" in operations:
            assert "503" in operations["get"]["responses"], path
    ok = doc["paths"]["/api/v1/rollouts"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/RolloutView"
    }
    rollout = doc["components"]["schemas"]["RolloutView"]
    assert rollout["properties"]["downtimeSeconds"]["anyOf"] == [
        {"type": "number"},
        {"type": "null"},
    ]
    assert set(rollout["required"]) == set(rollout["properties"])
