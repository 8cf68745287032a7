"""Decode a Kafka record (value + headers) into an `Event`, or say why not.

Accepted shapes (DESIGN section 2):
- CloudEvents 1.0 structured mode: the value is the CloudEvent, its `data` the CDEvent;
- CloudEvents 1.0 binary mode: `ce_*` headers carry the attributes, the value is the CDEvent;
- a plain CDEvent (`context` + `subject`) with no envelope;
- an Amazon EventBridge event as EventBridge sends it (`contract.eventbridge`): Amazon
  ECS deployment, task and service events.

The decoder is pure and total: every input gives an `Event` or a `Rejection`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from golive import fastjson
from golive.contract.content import (
    CONTENT_MODELS,
    Content,
    GenericContent,
    TicketContent,
    TicketCustomData,
)
from golive.contract.errors import (
    RejectedError,
    Rejection,
    RejectionKind,
    validation_problems,
)
from golive.contract.event import Event, Mode, new_event
from golive.contract.eventbridge import from_eventbridge, is_eventbridge
from golive.contract.types import Namespace, check_spec_version, parse_type

DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
# Identifiers (id, source, type, subject.id) are stored in indexed columns, whose rows
# Postgres limits to a few KB: a longer one could never be stored.
MAX_IDENTIFIER_BYTES = 1024
CLOUDEVENTS_SPEC_VERSION = "1.0"
BINARY_PREFIX = "ce_"
TEAM_EXTENSION = "team"
# No CD event predates the Unix epoch; an earlier time is a producer bug, and the KPIs'
# date arithmetic (windows, forecasts, epoch-second gauges) would overflow near year 1.
MIN_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)

Headers = Iterable[tuple[str, bytes | str | None]]


def decode_record(
    value: bytes | None,
    headers: Headers = (),
    *,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    not_after: datetime | None = None,
) -> Event | Rejection:
    """Decode one record. Never raises for bad input: returns a `Rejection` instead.

    `not_after`, when given, is the latest event time accepted (the caller's clock plus
    GOLIVE_MAX_CLOCK_SKEW): the decoder reads no clock itself.
    """
    try:
        event = _decode(value, headers, max_bytes)
    except RejectedError as err:
        return err.rejection
    if event.time < MIN_EVENT_TIME:
        return Rejection(
            RejectionKind.INVALID_TIMESTAMP,
            f"the event time {event.time.isoformat()} is before 1970-01-01T00:00:00Z",
        )
    if not_after is not None and event.time > not_after:
        return Rejection(
            RejectionKind.INVALID_TIMESTAMP,
            f"the event time {event.time.isoformat()} is in the future: after "
            f"{not_after.isoformat()}, this instance's clock plus GOLIVE_MAX_CLOCK_SKEW",
        )
    return event


def decode_json(document: Any, *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Event | Rejection:
    """Decode an already-parsed JSON value (structured CloudEvent or plain CDEvent)."""
    return decode_record(json.dumps(document).encode(), (), max_bytes=max_bytes)


def _decode(value: bytes | None, headers: Headers, max_bytes: int) -> Event:
    if value is not None and len(value) > max_bytes:
        raise RejectedError(
            RejectionKind.TOO_LARGE,
            f"the record value is {len(value)} bytes, above the limit of {max_bytes} bytes "
            f"(GOLIVE_MAX_EVENT_BYTES)",
        )
    attrs = _binary_attributes(headers)
    body = _parse_json(value)
    raw = value or b""  # not None: parsed
    if attrs is not None:
        _check_cloudevent(attrs, where="header ce_")
        return _from_cdevent(body, Mode.BINARY, attrs, raw)
    if "specversion" in body and "context" not in body:
        envelope = {k: v for k, v in body.items() if k not in ("data", "data_base64")}
        _check_cloudevent(envelope, where="attribute ")
        return _from_cdevent(_structured_data(body), Mode.STRUCTURED, envelope, raw)
    if "context" in body or "subject" in body:
        return _from_cdevent(body, Mode.CDEVENT, None, raw)
    if is_eventbridge(body):
        return from_eventbridge(body, raw)
    raise RejectedError(
        RejectionKind.UNKNOWN_FORMAT,
        "the value is neither a CloudEvent (no 'specversion' attribute, no ce_specversion "
        "header), nor a CDEvent (no 'context' and 'subject'), nor an EventBridge event "
        "(no 'detail-type' and 'detail')",
    )


def _binary_attributes(headers: Headers) -> dict[str, Any] | None:
    """CloudEvents attributes from `ce_*` headers, or None when not in binary mode."""
    attrs: dict[str, Any] = {}
    for raw_key, raw_value in headers:
        key = raw_key.lower()
        if not key.startswith(BINARY_PREFIX) or raw_value is None:
            continue
        name = key.removeprefix(BINARY_PREFIX)
        if name in attrs:
            # Readers disagree on which copy wins (first or last): refuse rather than
            # let the id golive dedupes on differ from the one another tool sees.
            raise RejectedError(
                RejectionKind.INCONSISTENT,
                f"header {raw_key!r} is repeated: a CloudEvents attribute appears once",
            )
        if isinstance(raw_value, bytes):
            try:
                text = raw_value.decode("utf-8")
                if "\x00" in text:
                    raise UnicodeDecodeError("utf-8", raw_value, 0, 1, "NUL character")
            except UnicodeDecodeError as err:
                raise RejectedError(
                    RejectionKind.NOT_UTF8, f"header {raw_key!r} is not valid UTF-8: {err}"
                ) from None
        else:
            text = raw_value
        attrs[name] = text
    return attrs if "specversion" in attrs else None


def _parse_json(value: bytes | None) -> dict[str, Any]:
    if not value:
        raise RejectedError(RejectionKind.NOT_JSON, "the record has no value")
    parsed = None if fastjson.contains(value, b"\\u0000") else fastjson.loads_plain(value)
    if parsed is not None:
        return _expect_object(parsed, "the value")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RejectedError(
            RejectionKind.NOT_UTF8,
            f"the value is not valid UTF-8 (byte {err.start}: {err.reason})",
        ) from None
    if "\\u0000" in text or "\x00" in text:
        # Postgres text and jsonb cannot hold NUL: refuse here rather than fail the batch.
        raise RejectedError(
            RejectionKind.INVALID_CONTENT, "the value contains a NUL character (\\u0000)"
        )
    return _expect_object(_loads(text), "the value")


def _loads(text: str) -> Any:
    try:
        return fastjson.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            check_fallback=_reject_lone_surrogates,
        )
    except json.JSONDecodeError as err:
        raise RejectedError(
            RejectionKind.NOT_JSON,
            f"the value is not JSON: {err.msg} at line {err.lineno} column {err.colno}",
        ) from None
    except RecursionError:
        # orjson stops at 1024 levels, the library's parser at the interpreter's limit.
        raise RejectedError(
            RejectionKind.NOT_JSON, "the value is not JSON golive reads: nested too deeply"
        ) from None
    except ValueError:  # an integer literal longer than int's string-conversion limit
        raise RejectedError(
            RejectionKind.NOT_JSON,
            f"the value is not JSON golive reads: a number has more than "
            f"{sys.get_int_max_str_digits()} digits",
        ) from None


def _finite_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):  # 1e400: JSON grammar, but no double (nor jsonb) holds it
        raise RejectedError(
            RejectionKind.NOT_JSON,
            f"the value is not JSON golive reads: the number {literal[:40]} is out of range",
        )
    return number


def _reject_lone_surrogates(text: str, document: Any) -> None:
    # orjson refuses lone surrogates, the library's path reads them (Postgres then
    # refuses them): only a text with a surrogate escape can hold one.
    if "\\ud" not in text and "\\uD" not in text:
        return
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RejectedError(
            RejectionKind.NOT_UTF8,
            "the value holds a lone surrogate escape (such as \\ud800): not Unicode text",
        ) from None
    except (RecursionError, ValueError):
        pass


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259) and cannot be stored in jsonb.
    raise RejectedError(
        RejectionKind.NOT_JSON, f"the value is not JSON: {name} is not a JSON number"
    )


def _expect_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RejectedError(
            RejectionKind.NOT_OBJECT, f"{what} is a JSON {_json_kind(value)}, expected an object"
        )
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else type(value).__name__


_REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")
# The labels of those attributes in messages, by where they were found; made once, as
# every structured or binary record checks all four.
_ATTRIBUTE_LABELS = {
    where: tuple((name, f"CloudEvents {where}{name}") for name in _REQUIRED_ATTRIBUTES)
    for where in ("attribute ", "header ce_")
}


def _check_cloudevent(attrs: Mapping[str, Any], where: str) -> None:
    for name, label in _ATTRIBUTE_LABELS[where]:
        _require_string(attrs, name, label)
    if attrs["specversion"].split(".")[0] != CLOUDEVENTS_SPEC_VERSION.split(".")[0]:
        raise RejectedError(
            RejectionKind.UNSUPPORTED_VERSION,
            f"CloudEvents specversion {attrs['specversion']!r} is not supported (supported: 1.0)",
        )
    content_type = attrs.get("datacontenttype")
    if isinstance(content_type, str) and "json" not in content_type:
        raise RejectedError(
            RejectionKind.UNKNOWN_FORMAT,
            f"CloudEvents datacontenttype {content_type!r} is not JSON",
        )


def _structured_data(envelope: Mapping[str, Any]) -> dict[str, Any]:
    if "data" in envelope:
        return _expect_object(envelope["data"], "the CloudEvent data")
    if "data_base64" in envelope:
        try:
            raw = base64.b64decode(envelope["data_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise RejectedError(
                RejectionKind.NOT_JSON, "the CloudEvent data_base64 is not valid base64"
            ) from None
        return _parse_json(raw)
    raise RejectedError(
        RejectionKind.MISSING_ATTRIBUTE, "the CloudEvent has no data: it must carry the CDEvent"
    )


def _require_string(obj: Mapping[str, Any], name: str, label: str) -> str:
    value = obj.get(name)
    if value is None:
        raise RejectedError(RejectionKind.MISSING_ATTRIBUTE, f"{label} is missing")
    if not isinstance(value, str) or not value.strip():
        raise RejectedError(RejectionKind.MISSING_ATTRIBUTE, f"{label} must be a non-empty string")
    if len(value) > MAX_IDENTIFIER_BYTES // 4:  # one comparison on the common path
        _check_identifier_size(value, label)
    return value


def _check_identifier_size(value: str, label: str) -> None:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_IDENTIFIER_BYTES:
        raise RejectedError(
            RejectionKind.INVALID_CONTENT,
            f"{label} is {size} bytes long: at most {MAX_IDENTIFIER_BYTES}",
        )


def parse_timestamp(value: Any, label: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as a UTC datetime."""
    if not isinstance(value, str):
        raise RejectedError(RejectionKind.INVALID_TIMESTAMP, f"{label} must be a string")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is UTC:  # "...Z": already what is returned
            return parsed
    except ValueError:
        raise RejectedError(
            RejectionKind.INVALID_TIMESTAMP,
            f"{label} {value!r} is not an RFC 3339 timestamp (e.g. 2026-11-24T09:30:00Z)",
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RejectedError(
            RejectionKind.INVALID_TIMESTAMP,
            f"{label} {value!r} has no time zone: add 'Z' or an offset such as +01:00",
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise RejectedError(
            RejectionKind.INVALID_TIMESTAMP,
            f"{label} {value!r} is out of range: in UTC it falls outside years 1 to 9999",
        ) from None


def _from_cdevent(
    doc: dict[str, Any], mode: Mode, envelope: Mapping[str, Any] | None, raw: bytes
) -> Event:
    context = _expect_object(doc.get("context"), "'context'") if "context" in doc else None
    if context is None:
        raise RejectedError(RejectionKind.MISSING_ATTRIBUTE, "the CDEvent has no 'context'")

    # CDEvents 0.4 names the spec version `version`, 0.5 `specversion`.
    version_field = "specversion" if "specversion" in context else "version"
    spec_version = check_spec_version(
        _require_string(context, version_field, "context.specversion (0.5) / context.version (0.4)")
    )
    event_id = _require_string(context, "id", "context.id")
    source = _require_string(context, "source", "context.source")
    type_ = _require_string(context, "type", "context.type")
    if "timestamp" not in context:
        raise RejectedError(RejectionKind.MISSING_ATTRIBUTE, "context.timestamp is missing")
    time = parse_timestamp(context["timestamp"], "context.timestamp")
    if envelope is not None:
        _check_envelope_matches(envelope, event_id, source, type_)
        # Most producers repeat the context's timestamp, text for text: checked already.
        if "time" in envelope and envelope["time"] != context["timestamp"]:
            parse_timestamp(envelope["time"], "CloudEvents time")
    kind = parse_type(type_)
    subject = _expect_object(doc.get("subject"), "'subject'") if "subject" in doc else None
    if subject is None:
        raise RejectedError(RejectionKind.MISSING_ATTRIBUTE, "the CDEvent has no 'subject'")

    subject_id = _require_string(subject, "id", "subject.id")
    raw_content = subject.get("content", {})
    content_obj = _expect_object(raw_content, "subject.content")
    model = CONTENT_MODELS.get(kind.name) if kind.namespace != Namespace.CUSTOM else None
    content = _validate(model or GenericContent, content_obj, type_)

    custom_data = doc.get("customData")
    custom = custom_data if isinstance(custom_data, dict) else None
    content = _apply_custom_data(content, custom)

    subject_source = subject.get("source")
    return new_event(  # Event's fields, in order
        event_id,
        source,
        type_,
        kind,
        spec_version,
        mode,
        time,
        subject_id,
        subject_source if isinstance(subject_source, str) else None,
        content,
        _team(envelope, custom, content),
        custom,
        raw,
    )


def _check_envelope_matches(
    envelope: Mapping[str, Any], event_id: str, source: str, type_: str
) -> None:
    # The CDEvents CloudEvents binding requires the envelope to repeat the context; dedupe
    # relies on (source, id), so a disagreement is an error, not a guess.
    if envelope["id"] == event_id and envelope["source"] == source and envelope["type"] == type_:
        return
    for name, expected in (("id", event_id), ("source", source), ("type", type_)):
        if envelope[name] != expected:
            raise RejectedError(
                RejectionKind.INCONSISTENT,
                f"CloudEvents {name} {envelope[name]!r} differs from context.{name} "
                f"{expected!r}; the CDEvents binding requires them equal",
            )


def _validate(model: type[Content], content: dict[str, Any], type_: str) -> Content:
    try:
        # The validator itself: `model_validate` is a Python frame around it, 0.7 µs an
        # event (docs/performance.md, eleventh round).
        return model.__pydantic_validator__.validate_python(content)  # type: ignore[no-any-return]
    except ValidationError as err:
        problems = validation_problems(err, "subject.content.")
        raise RejectedError(
            RejectionKind.INVALID_CONTENT, f"invalid content for {type_}: {problems}"
        ) from None


def _apply_custom_data(content: Content, custom: Mapping[str, Any] | None) -> Content:
    """Tickets carry the task fields golive needs (`dueDate`, `kind`) in `customData`."""
    if custom is None or not isinstance(content, TicketContent):
        return content
    try:
        extra = TicketCustomData.model_validate(custom)
    except ValidationError as err:
        raise RejectedError(
            RejectionKind.INVALID_CONTENT, validation_problems(err, "customData.")
        ) from None
    return content.model_copy(update={"due_date": extra.due_date, "kind": extra.kind})


def _team(
    envelope: Mapping[str, Any] | None, custom: Mapping[str, Any] | None, content: Content
) -> str | None:
    """Team attribution, in order: extension `team`, `customData.team`, the content's group."""
    if envelope and _is_name(team := envelope.get(TEAM_EXTENSION)):
        return team
    if custom and _is_name(team := custom.get("team")):
        return team
    # Only some content types have `group` or `team` (declared, or extra fields). Looking
    # them up in the instance's dicts, not with getattr(): a missing attribute goes
    # through pydantic's __getattr__ and an exception, 7 % of ingest CPU
    # (docs/performance.md). A declared field wins over an extra one of the same name.
    extra = content.__pydantic_extra__
    if not extra and not _declares_team(type(content)):
        return None  # most events: nothing more to look at
    declared, extra = vars(content), extra or {}
    for name in ("group", "team"):
        team = declared[name] if name in declared else extra.get(name)
        if _is_name(team):
            return team
    return None


_TEAM_FIELDS = frozenset({"group", "team"})


@functools.cache
def _declares_team(model: type[Content]) -> bool:
    return not _TEAM_FIELDS.isdisjoint(model.model_fields)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
