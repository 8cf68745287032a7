"""The CloudEvents HTTP binding mapped onto Kafka records, and the event rate limit."""

from __future__ import annotations

import json

import pytest

from golive.api.limits import EventRateLimit
from golive.contract import Event, Mode, Rejection, decode_record
from golive.contract.http_binding import (
    HttpMode,
    MalformedBatch,
    UnsupportedMediaType,
    WireRecord,
    http_mode,
    wire_records,
)

CDEVENT = {
    "context": {
        "specversion": "0.5.1",
        "id": "e1",
        "source": "/ci",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "timestamp": "2026-11-24T09:00:00Z",
    },
    "subject": {
        "id": "checkout",
        "content": {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.0"},
    },
}
CE_HEADERS = [
    ("ce-specversion", "1.0"),
    ("ce-id", "e1"),
    ("ce-source", "/ci"),
    ("ce-type", "dev.cdevents.service.deployed.0.3.0"),
]


def structured(doc: dict[str, object]) -> dict[str, object]:
    ctx = doc["context"]
    assert isinstance(ctx, dict)
    return {"specversion": "1.0", **{k: ctx[k] for k in ("id", "source", "type")}, "data": doc}


@pytest.mark.parametrize(
    ("content_type", "headers", "mode"),
    [
        ("application/cloudevents+json", [], HttpMode.STRUCTURED),
        ("application/cloudevents+json; charset=UTF-8", CE_HEADERS, HttpMode.STRUCTURED),
        ("application/cloudevents-batch+json", [], HttpMode.BATCH),
        ("application/json", CE_HEADERS, HttpMode.BINARY),
        ("Application/JSON; charset=utf-8", [("CE-SpecVersion", "1.0")], HttpMode.BINARY),
        ("application/json", [], HttpMode.JSON),
        ("application/vnd.cdevents+json", [], HttpMode.JSON),
    ],
)
def test_mode_follows_the_content_type_then_the_ce_headers(
    content_type: str, headers: list[tuple[str, str]], mode: HttpMode
) -> None:
    assert http_mode(content_type, headers) is mode


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml"])
def test_other_media_types_are_refused_with_the_accepted_ones_named(
    content_type: str | None,
) -> None:
    with pytest.raises(UnsupportedMediaType, match="application/cloudevents-batch\\+json"):
        http_mode(content_type, CE_HEADERS)


def test_binary_mode_becomes_kafka_binary_headers_percent_decoded() -> None:
    body = json.dumps(CDEVENT).encode()
    headers = [*CE_HEADERS, ("ce-team", "caf%C3%A9%20ops"), ("user-agent", "curl")]
    (record,) = wire_records(HttpMode.BINARY, "application/json", headers, body)
    assert record.value == body
    assert dict(record.headers) == {
        "content-type": b"application/json",
        "ce_specversion": b"1.0",
        "ce_id": b"e1",
        "ce_source": b"/ci",
        "ce_type": b"dev.cdevents.service.deployed.0.3.0",
        "ce_team": "café ops".encode(),
    }
    event = decode_record(record.value, record.headers)
    assert isinstance(event, Event)
    assert (event.mode, event.team) == (Mode.BINARY, "café ops")


def test_binary_attributes_that_disagree_with_the_context_are_rejected_as_from_kafka() -> None:
    headers = [(k, "other" if k == "ce-id" else v) for k, v in CE_HEADERS]
    (record,) = wire_records(
        HttpMode.BINARY, "application/json", headers, json.dumps(CDEVENT).encode()
    )
    rejection = decode_record(record.value, record.headers)
    assert isinstance(rejection, Rejection)
    assert str(rejection.kind) == "inconsistent"


def test_a_batch_becomes_one_structured_record_per_event_in_order() -> None:
    second = json.loads(json.dumps(CDEVENT))
    second["context"]["id"] = "e2"
    body = json.dumps([structured(CDEVENT), structured(second), {"not": "an event"}]).encode()
    records = wire_records(HttpMode.BATCH, "application/cloudevents-batch+json", [], body)
    assert [r.headers for r in records] == [
        (("content-type", b"application/cloudevents+json"),)
    ] * 3
    decoded = [decode_record(r.value, r.headers) for r in records]
    assert [d.id for d in decoded if isinstance(d, Event)] == ["e1", "e2"]
    assert isinstance(decoded[2], Rejection)


@pytest.mark.parametrize(("body", "message"), [(b"{}", "not a JSON dict"), (b"[", "not JSON")])
def test_a_batch_that_is_not_an_array_is_malformed(body: bytes, message: str) -> None:
    with pytest.raises(MalformedBatch, match=message):
        wire_records(HttpMode.BATCH, "application/cloudevents-batch+json", [], body)


def test_structured_and_plain_bodies_are_passed_as_they_are() -> None:
    body = json.dumps(structured(CDEVENT)).encode()
    ct = "application/cloudevents+json"
    assert wire_records(HttpMode.STRUCTURED, ct, CE_HEADERS, body) == [
        WireRecord(body, (("content-type", ct.encode()),))
    ]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_admits_a_burst_then_asks_to_wait_until_refilled() -> None:
    clock = FakeMonotonic()
    limit = EventRateLimit(10, clock)
    assert limit.admit(6) is None
    assert limit.admit(4) is None
    assert limit.admit(1) == pytest.approx(0.1)
    clock.now += 0.5  # five tokens back
    assert limit.admit(5) is None
    assert limit.admit(1) == pytest.approx(0.1)


def test_rate_limit_lets_a_batch_larger_than_the_burst_through_and_leaves_debt() -> None:
    clock = FakeMonotonic()
    limit = EventRateLimit(10, clock)
    assert limit.admit(50) is None  # a full bucket takes any batch
    assert limit.admit(1) == pytest.approx(4.1)  # 40 of debt, then one token
    assert EventRateLimit.retry_after(4.1) == "5"
    clock.now += 4.2
    assert limit.admit(1) is None


def test_rate_limit_of_zero_admits_everything() -> None:
    limit = EventRateLimit(0, FakeMonotonic())
    assert all(limit.admit(10_000) is None for _ in range(100))
