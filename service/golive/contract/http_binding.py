"""The CloudEvents HTTP binding, turned into the Kafka records golive already decodes.

`POST /api/v1/events` accepts the three HTTP modes of CloudEvents 1.0:
- binary: `ce-*` headers carry the attributes, the body is the CDEvent;
- structured: `Content-Type: application/cloudevents+json`, the body is the CloudEvent;
- batch: `Content-Type: application/cloudevents-batch+json`, a JSON array of structured
  CloudEvents.
A plain `application/json` body without `ce-specversion` is taken as it is taken from
Kafka (a structured CloudEvent or a bare CDEvent).

Each event becomes the record the CloudEvents Kafka binding would carry (`ce_*` headers,
`content-type`), so `decode_record` judges it exactly as it judges a Kafka record, and
the record produced to the events topic is the one a Kafka producer would have sent.
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from golive.contract.decode import BINARY_PREFIX

STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
JSON_MEDIA_TYPE = "application/json"
HTTP_PREFIX = "ce-"


class HttpMode(StrEnum):
    BINARY = "binary"
    STRUCTURED = "structured"
    BATCH = "batch"
    JSON = "json"  # application/json without ce- headers: as from Kafka


@dataclass(frozen=True, slots=True)
class WireRecord:
    """A Kafka record value and headers, as the CloudEvents Kafka binding lays them out."""

    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class UnsupportedMediaType(ValueError):
    """The Content-Type is not one of the binding's (HTTP 415)."""


class MalformedBatch(ValueError):
    """A batch body that is not a JSON array (HTTP 400: no event can be told apart)."""


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def http_mode(content_type: str | None, headers: Iterable[tuple[str, str]]) -> HttpMode:
    """Which mode a request is in, from its Content-Type and headers."""
    media = media_type(content_type)
    if media == STRUCTURED_MEDIA_TYPE:
        return HttpMode.STRUCTURED
    if media == BATCH_MEDIA_TYPE:
        return HttpMode.BATCH
    if media == JSON_MEDIA_TYPE or (media.startswith("application/") and media.endswith("+json")):
        has_specversion = any(k.lower() == f"{HTTP_PREFIX}specversion" for k, _ in headers)
        return HttpMode.BINARY if has_specversion else HttpMode.JSON
    shown = f"{content_type!r}" if content_type else "none"
    raise UnsupportedMediaType(
        f"Content-Type {shown} is not accepted: send {STRUCTURED_MEDIA_TYPE} (one structured "
        f"CloudEvent), {BATCH_MEDIA_TYPE} (a JSON array of them), or {JSON_MEDIA_TYPE} with "
        f"ce- headers (binary mode) or a plain CDEvent"
    )


def wire_records(
    mode: HttpMode, content_type: str, headers: Iterable[tuple[str, str]], body: bytes
) -> list[WireRecord]:
    """The records a request carries, in order (one per event of a batch)."""
    content = ("content-type", content_type.encode())
    if mode is HttpMode.BINARY:
        # HTTP binary mode percent-encodes header values; Kafka headers carry them raw.
        attributes = tuple(
            (BINARY_PREFIX + k.lower().removeprefix(HTTP_PREFIX), unquote(v).encode())
            for k, v in headers
            if k.lower().startswith(HTTP_PREFIX)
        )
        return [WireRecord(body, (content, *attributes))]
    if mode is not HttpMode.BATCH:
        return [WireRecord(body, (content,))]
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedBatch(f"the batch is not JSON: {err}") from None
    if not isinstance(items, list):
        raise MalformedBatch(
            f"a {BATCH_MEDIA_TYPE} body must be a JSON array of CloudEvents, "
            f"not a JSON {type(items).__name__}"
        )
    return [structured_record(item) for item in items]


def structured_record(event: Any) -> WireRecord:
    """One structured CloudEvent (a parsed JSON value) as a Kafka record."""
    value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return WireRecord(value, (("content-type", STRUCTURED_MEDIA_TYPE.encode()),))
