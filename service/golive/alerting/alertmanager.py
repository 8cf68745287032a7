"""Alertmanager API v2 client: POST /api/v2/alerts."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = 5.0


class AlertmanagerUnavailableError(Exception):
    """Alertmanager did not accept the alerts: deliver again at the next evaluation."""


async def post_alerts(client: httpx.AsyncClient, url: str, alerts: list[dict[str, Any]]) -> None:
    if not alerts:
        return
    try:
        response = await client.post(
            url.rstrip("/") + "/api/v2/alerts", json=alerts, timeout=TIMEOUT
        )
    except httpx.HTTPError as err:
        raise AlertmanagerUnavailableError(f"{type(err).__name__}: {err}") from err
    if response.status_code >= 300:
        raise AlertmanagerUnavailableError(f"HTTP {response.status_code}: {response.text[:300]}")
