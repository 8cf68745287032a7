"""Builders of decoded events for domain tests: terse, valid, and decoded for real."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from golive.contract import Event, Rejection, decode_json
from tests.fixtures.cloudevents import structured

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
_ids = itertools.count()


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def cdevent(
    type_: str,
    subject_id: str,
    content: dict[str, Any] | None = None,
    *,
    time: datetime = T0,
    id: str | None = None,
    source: str = "/test",
    custom_data: dict[str, Any] | None = None,
    team: str | None = None,
) -> Event:
    """Decode a CDEvent of `type_` (`service.deployed` or `golive-task.updated`...)."""
    prefix = "dev.cdeventsx." if type_.startswith("golive-") else "dev.cdevents."
    version = "0.1.0" if type_.startswith("golive-") else "0.3.0"
    doc: dict[str, Any] = {
        "context": {
            "specversion": "0.5.1",
            "id": id or f"e{next(_ids)}",
            "source": source,
            "type": f"{prefix}{type_}.{version}",
            "timestamp": time.isoformat(),
        },
        "subject": {"id": subject_id, "content": content or {}},
    }
    if custom_data is not None:
        doc["customData"] = custom_data
    if team is not None:  # structured CloudEvent with the `team` extension
        doc = structured(doc, team=team)
    event = decode_json(doc)
    assert not isinstance(event, Rejection), event
    return event


def deployed(
    service: str,
    version: str,
    *,
    env: str = "prod",
    time: datetime = T0,
    artifact: str | None = None,
    **kw: Any,
) -> Event:
    artifact = artifact or f"pkg:oci/{service}@{version}"
    return cdevent(
        "service.deployed",
        service,
        {"environment": {"id": env}, "artifactId": artifact},
        time=time,
        **kw,
    )


def rolledback(service: str, version: str, *, env: str = "prod", time: datetime = T0) -> Event:
    content = {"environment": {"id": env}, "artifactId": f"pkg:oci/{service}@{version}"}
    return cdevent("service.rolledback", service, content, time=time)


def incident(
    predicate: str, incident_id: str, service: str, *, env: str = "prod", time: datetime = T0
) -> Event:
    content: dict[str, Any] = {"environment": {"id": env}, "service": {"id": service}}
    if predicate == "reported":
        content["ticketURI"] = "https://tickets.example/1"
    return cdevent(f"incident.{predicate}", incident_id, content, time=time)


def rollout(predicate: str, rollout_id: str, *, time: datetime = T0, **content: Any) -> Event:
    return cdevent(f"golive-rollout.{predicate}", rollout_id, content, time=time)


def task(predicate: str, task_id: str, *, time: datetime = T0, **content: Any) -> Event:
    return cdevent(f"golive-task.{predicate}", task_id, content, time=time)


def release(predicate: str, release_id: str, *, time: datetime = T0, **content: Any) -> Event:
    return cdevent(f"golive-release.{predicate}", release_id, content, time=time)
