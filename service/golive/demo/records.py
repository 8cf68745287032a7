"""How the demo puts its events on the wire, in every format golive accepts.

`Recorder.emit` turns one event (type, subject, content, event time) into a Kafka record:
a plain CDEvent 0.5.1, a plain CDEvent 0.4.1, a CloudEvents 1.0 structured record or a
CloudEvents 1.0 binary record. Ids are deterministic: derived from the event and its
index in the story, so the same story always gives the same records.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    """One record the demo produces, at wall-clock time `at`."""

    at: datetime  # when to produce it; history events are due at the start
    key: bytes  # the entity id, so one entity's events stay in order on one partition
    value: bytes  # the record value (JSON)
    headers: tuple[tuple[str, bytes], ...] = ()
    label: str = ""  # one human line for the demo's console


class Format(StrEnum):
    CDEVENT = "cdevent"  # a plain CDEvent 0.5.1 (context + subject)
    CDEVENT_V04 = "cdevent-0.4"  # a plain CDEvent 0.4.1 (`context.version`, `subject.type`)
    STRUCTURED = "structured"  # CloudEvents structured mode: `data` is the CDEvent
    BINARY = "binary"  # CloudEvents binary mode: `ce_*` headers, the value is the CDEvent


SPEC_VERSION = "0.5.1"
SPEC_VERSION_V04 = "0.4.1"
GOLIVE_TYPE_VERSION = "0.1.0"

# Event type versions of each spec release (from the CDEvents schemas).
_TYPE_VERSIONS: dict[str, dict[str, str]] = {
    SPEC_VERSION: {
        "artifact.packaged": "0.3.0",
        "change.created": "0.4.0",
        "change.merged": "0.3.0",
        "incident.detected": "0.3.0",
        "incident.resolved": "0.3.0",
        "pipelinerun.finished": "0.3.0",
        "pipelinerun.started": "0.3.0",
        "service.deployed": "0.3.0",
        "service.rolledback": "0.3.0",
        "ticket.closed": "0.2.0",
        "ticket.created": "0.2.0",
        "ticket.updated": "0.2.0",
    },
    SPEC_VERSION_V04: {
        "pipelinerun.finished": "0.2.0",
        "service.deployed": "0.2.0",
    },
}
# CDEvents 0.4 requires `subject.type`.
_SUBJECT_TYPES_V04 = {"service": "service", "pipelinerun": "pipelineRun"}

# Namespace of the demo's event ids (uuid5).
_ID_NAMESPACE = uuid.UUID("6f0c3a52-8d1e-4f5b-9a7e-2c4d6b8e0f13")


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_type(name: str, spec_version: str = SPEC_VERSION) -> str:
    """The full type of `subject.predicate` (`service.deployed`, `golive-task.updated`)."""
    if name.startswith("golive-"):
        return f"dev.cdeventsx.{name}.{GOLIVE_TYPE_VERSION}"
    return f"dev.cdevents.{name}.{_TYPE_VERSIONS[spec_version][name]}"


@dataclass(order=True, frozen=True, slots=True)
class _Pending:
    at: datetime
    time: datetime
    index: int
    record: ScenarioRecord = field(compare=False)


class Recorder:
    """Collects the story's records; `records()` returns them in production order."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._pending: list[_Pending] = []

    def emit(
        self,
        name: str,
        subject_id: str,
        content: dict[str, Any],
        *,
        time: datetime,
        source: str,
        label: str,
        live: bool = False,
        fmt: Format = Format.CDEVENT,
        team: str | None = None,
        custom_data: dict[str, Any] | None = None,
    ) -> None:
        """Add one event. History events (`live=False`) are produced at the start; live
        ones when their event time comes. `team` is the CloudEvents `team` extension, so
        it needs a CloudEvents format."""
        if team is not None and fmt not in (Format.STRUCTURED, Format.BINARY):
            raise ValueError(f"the team extension needs a CloudEvent, not {fmt}")
        index = len(self._pending)
        spec_version = SPEC_VERSION_V04 if fmt is Format.CDEVENT_V04 else SPEC_VERSION
        type_ = event_type(name, spec_version)
        timestamp = rfc3339(time)
        seed = json.dumps([index, type_, subject_id, timestamp, content], sort_keys=True)
        event_id = str(uuid.uuid5(_ID_NAMESPACE, seed))

        version_field = "version" if fmt is Format.CDEVENT_V04 else "specversion"
        context = {
            version_field: spec_version,
            "id": event_id,
            "source": source,
            "type": type_,
            "timestamp": timestamp,
        }
        subject: dict[str, Any] = {"id": subject_id, "source": source}
        if fmt is Format.CDEVENT_V04:
            subject["type"] = _SUBJECT_TYPES_V04[name.split(".")[0]]
        subject["content"] = content
        cdevent: dict[str, Any] = {"context": context, "subject": subject}
        if custom_data is not None:
            cdevent["customData"] = custom_data
            cdevent["customDataContentType"] = "application/json"

        # The CloudEvents attributes repeat the CDEvent context (CDEvents binding).
        attributes = {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": type_,
            "subject": subject_id,
            "time": timestamp,
        }
        if team is not None:
            attributes["team"] = team
        headers: tuple[tuple[str, bytes], ...]
        if fmt is Format.STRUCTURED:
            document = {**attributes, "datacontenttype": "application/json", "data": cdevent}
            headers = (("content-type", b"application/cloudevents+json"),)
        elif fmt is Format.BINARY:
            document = cdevent
            headers = (
                ("content-type", b"application/json"),
                *((f"ce_{k}", v.encode()) for k, v in attributes.items()),
            )
        else:
            document = cdevent
            headers = (("content-type", b"application/json"),)

        at = time if live else self._start
        value = json.dumps(document, separators=(",", ":")).encode()
        record = ScenarioRecord(at, subject_id.encode(), value, headers, label)
        self._pending.append(_Pending(at, time, index, record))

    def records(self) -> list[ScenarioRecord]:
        """By production time, then event time: history first, oldest event first."""
        return [pending.record for pending in sorted(self._pending)]
