"""The report webhook: one POST of the report's JSON document per report."""

from __future__ import annotations

from importlib.metadata import version

import httpx

from golive.store.published import Delivery

TIMEOUT = 10.0


class WebhookError(Exception):
    """The webhook did not take the report (network error or a non-2xx answer)."""


async def post_report(
    client: httpx.AsyncClient, url: str, token: str | None, delivery: Delivery
) -> None:
    """POST the report's `golive.report/v1` document. The idempotency key is the same on
    every attempt, from any instance: a receiver that keeps it never files a report twice."""
    headers = {
        "Idempotency-Key": delivery.key,
        "User-Agent": f"golive/{version('golive')}",
        "X-Golive-Report": f"{delivery.kind}/{delivery.label}",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await client.post(url, json=delivery.document, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as err:
        raise WebhookError(f"{type(err).__name__}: {err}") from err
    if not response.is_success:
        raise WebhookError(f"HTTP {response.status_code}: {response.text[:300]}")
