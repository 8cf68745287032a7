"""The alert lifecycle, pure: from the alerts firing now and the stored states, the new
states and what to deliver.

- An alert that starts firing gets `starts_at = now`; one already firing keeps its
  `starts_at` (a restart or a new leader never re-fires it).
- A stored firing alert that no longer fires is resolved at `now`.
- Deliver a firing alert when never delivered or last delivered `resend` ago, with
  `endsAt` a few resend intervals ahead (Alertmanager resolves it by itself if golive
  goes silent); deliver a resolved alert once, with `endsAt` = its resolution time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from golive.domain.alerts import Alert

RESEND = timedelta(minutes=1)
ENDS_AFTER = 4  # firing alerts end this many resend intervals after the last delivery
KEEP_RESOLVED = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AlertState:
    fingerprint: str
    alertname: str
    severity: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    path: str
    starts_at: datetime
    resolved_at: datetime | None = None
    last_sent_at: datetime | None = None
    resolution_sent: bool = False

    @property
    def firing(self) -> bool:
        return self.resolved_at is None


def reconcile(
    stored: Mapping[str, AlertState], firing: Iterable[Alert], now: datetime
) -> dict[str, AlertState]:
    """The states after this evaluation, by fingerprint (unchanged ones included)."""
    states = dict(stored)
    current = {a.fingerprint: a for a in firing}
    for fingerprint, alert in current.items():
        previous = states.get(fingerprint)
        if previous is not None and previous.firing:
            # Keep its start; refresh the wording (figures in the description move).
            states[fingerprint] = replace(previous, annotations=alert.annotations)
        else:
            states[fingerprint] = AlertState(
                fingerprint,
                alert.name,
                alert.severity,
                alert.labels,
                alert.annotations,
                alert.path,
                starts_at=now,
            )
    for fingerprint, state in list(states.items()):
        if state.firing and fingerprint not in current:
            states[fingerprint] = replace(state, resolved_at=now)
    return states


def due(
    states: Iterable[AlertState], now: datetime, resend: timedelta = RESEND
) -> list[AlertState]:
    """The states to deliver now."""
    return [
        s
        for s in states
        if (s.firing and (s.last_sent_at is None or now - s.last_sent_at >= resend))
        or (not s.firing and not s.resolution_sent)
    ]


def payload(
    states: Iterable[AlertState], now: datetime, base_url: str, resend: timedelta = RESEND
) -> list[dict[str, Any]]:
    """Alertmanager API v2 `postableAlerts`."""
    return [
        {
            "labels": dict(s.labels),
            "annotations": dict(s.annotations),
            "startsAt": _rfc3339(s.starts_at),
            "endsAt": _rfc3339(s.resolved_at if s.resolved_at else now + resend * ENDS_AFTER),
            "generatorURL": base_url.rstrip("/") + s.path,
        }
        for s in states
    ]


def delivered(states: Iterable[AlertState], now: datetime) -> list[AlertState]:
    return [
        replace(s, last_sent_at=now)
        if s.firing
        else replace(s, resolution_sent=True, last_sent_at=now)
        for s in states
    ]


def _rfc3339(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
