"""Every accepted input shape decodes; every bad input is rejected with its reason."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.contract import (
    Event,
    Mode,
    Namespace,
    Rejection,
    RejectionKind,
    decode_record,
    purl_version,
)
from golive.contract.content import RolloutStarted, ServiceContent, TicketContent
from golive.contract.decode import _loads
from golive.contract.errors import RejectedError
from tests.conftest import conformance_files

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "examples"


def accepted(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Event:
    result = decode_record(value, headers or [])
    assert isinstance(result, Event), result
    return result


def rejected(
    value: bytes | None, headers: list[tuple[str, bytes]] | None = None, **kw: Any
) -> Rejection:
    result = decode_record(value, headers or [], **kw)
    assert isinstance(result, Rejection), result
    return result


def cdevent_doc(**context: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "context": {
            "specversion": "0.5.1",
            "id": "e1",
            "source": "/ci",
            "type": "dev.cdevents.service.deployed.0.3.0",
            "timestamp": "2026-11-24T10:00:00Z",
        },
        "subject": {
            "id": "checkout",
            "content": {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.4.2"},
        },
    }
    doc["context"].update(context)
    return doc


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "path", conformance_files(), ids=lambda p: f"{p.parent.parent.name}/{p.stem}"
)
def test_every_cdevents_conformance_example_is_accepted(path: Path) -> None:
    event = accepted(path.read_bytes())
    doc = json.loads(path.read_text())
    assert event.type == doc["context"]["type"]
    assert event.id == doc["context"]["id"]
    assert event.kind.namespace is Namespace.CDEVENTS
    assert event.time.tzinfo is not None
    assert event.mode is Mode.CDEVENT


def test_conformance_examples_cover_both_spec_versions() -> None:
    versions = {p.parent.parent.name for p in conformance_files()}
    assert {"v0.4.1", "v0.5.1"} <= versions


def test_spec_0_4_version_field_is_read_as_the_spec_version() -> None:
    doc = cdevent_doc(type="dev.cdevents.service.deployed.0.2.0")
    doc["context"]["version"] = doc["context"].pop("specversion").replace("0.5.1", "0.4.1")
    assert accepted(encode(doc)).spec_version == "0.4.1"


def test_structured_cloudevent_carries_the_cdevent_in_data_and_the_team_extension() -> None:
    doc = cdevent_doc()
    envelope = {
        "specversion": "1.0",
        "id": "e1",
        "source": "/ci",
        "type": doc["context"]["type"],
        "team": "payments",
        "data": doc,
    }
    event = accepted(encode(envelope))
    assert event.mode is Mode.STRUCTURED
    assert event.team == "payments"
    assert isinstance(event.content, ServiceContent)
    assert event.entity_keys()["version"] == "1.4.2"


def test_binary_mode_reads_attributes_from_ce_headers() -> None:
    doc = cdevent_doc()
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e1"),
        ("ce_source", b"/ci"),
        ("ce_type", doc["context"]["type"].encode()),
        ("ce_team", b"storefront"),
        ("content-type", b"application/json"),
    ]
    event = accepted(encode(doc), headers)
    assert event.mode is Mode.BINARY
    assert event.team == "storefront"
    assert event.key == ("/ci", "e1")


def test_timestamps_with_offsets_are_normalised_to_utc() -> None:
    event = accepted(encode(cdevent_doc(timestamp="2026-11-24T11:00:00+01:00")))
    assert event.time == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_unknown_cdevents_type_of_a_known_spec_version_is_kept_as_activity() -> None:
    doc = cdevent_doc(type="dev.cdevents.featureflag.toggled.0.1.0")
    doc["subject"]["content"] = {"anything": True}
    event = accepted(encode(doc))
    assert event.name == "featureflag.toggled"
    assert event.entity_keys() == {}


def test_another_tools_custom_type_is_kept_as_activity() -> None:
    event = accepted(encode(cdevent_doc(type="dev.cdeventsx.acme-scan.finished.0.1.0")))
    assert event.kind.namespace is Namespace.CUSTOM


def test_ticket_custom_data_gives_due_date_kind_and_team() -> None:
    doc = json.loads((conformance_files()[0].parent / "ticket_created.json").read_text())
    doc["customData"] = {
        "dueDate": "2026-12-01T18:00:00+01:00",
        "kind": "corrective",
        "team": "sre",
    }
    event = accepted(encode(doc))
    assert isinstance(event.content, TicketContent)
    assert event.content.kind == "corrective"
    assert event.content.due_date == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert event.team == "sre"  # customData.team wins over the ticket's group


def test_team_falls_back_to_the_content_group_then_its_team_field() -> None:
    ticket = json.loads((conformance_files()[0].parent / "ticket_created.json").read_text())
    ticket["subject"]["content"]["group"] = "support"
    assert accepted(encode(ticket)).team == "support"  # a declared field of tickets

    deployed = cdevent_doc()
    deployed["subject"]["content"]["team"] = "payments"  # an extra field
    assert accepted(encode(deployed)).team == "payments"

    deployed["subject"]["content"]["team"] = "  "
    assert accepted(encode(deployed)).team is None
    assert accepted(encode(cdevent_doc())).team is None


def test_every_schema_example_decodes_to_its_golive_type() -> None:
    examples = sorted(SCHEMAS.glob("*.json"))
    assert len(examples) == 8
    for path in examples:
        event = accepted(path.read_bytes())
        assert event.name == path.stem
        assert event.kind.namespace is Namespace.GOLIVE


def test_service_is_the_service_entity_key_of_every_kind_of_event() -> None:
    # `Event.service` finds the service by content type; `entity_keys` by its isinstance
    # chain: the fast path must agree with it on every shape golive reads.
    ecs = Path(__file__).resolve().parents[1] / "fixtures" / "ecs"
    values = [p.read_bytes() for p in [*conformance_files(), *sorted(SCHEMAS.glob("*.json"))]]
    values += [p.read_bytes() for p in sorted((ecs / "guide").glob("*.json"))]
    for stream in sorted(ecs.glob("*.jsonl")):
        values += [line.encode() for line in stream.read_text().splitlines()]
    events = [accepted(value) for value in values]
    with_service = [e for e in events if e.service is not None]
    assert {e.kind.subject for e in with_service} >= {"service", "incident", "golive-rollout"}
    assert any(e.kind.namespace is Namespace.EVENTBRIDGE for e in with_service)
    for event in events:
        assert event.service == event.entity_keys().get("service"), event.type


def test_task_or_rollout_is_the_task_or_rollout_entity_key_of_every_kind_of_event() -> None:
    # Activity attribution's fast path (`Event.task_or_rollout`) against `entity_keys`.
    values = [p.read_bytes() for p in [*conformance_files(), *sorted(SCHEMAS.glob("*.json"))]]
    events = [accepted(value) for value in values]
    found = {e.task_or_rollout[0] for e in events if e.task_or_rollout is not None}
    assert found == {"task", "rollout"}
    for event in events:
        keys = event.entity_keys()
        expected = [(kind, keys[kind]) for kind in ("task", "rollout") if kind in keys]
        assert [event.task_or_rollout] == (expected or [None]), event.type


def test_rollout_started_defaults_min_healthy_to_100_percent() -> None:
    doc = json.loads((SCHEMAS / "golive-rollout.started.json").read_text())
    del doc["subject"]["content"]["minHealthyPercent"]
    content = accepted(encode(doc)).content
    assert isinstance(content, RolloutStarted)
    assert content.min_healthy_percent == 100


@pytest.mark.parametrize(
    ("purl", "version"),
    [
        ("pkg:oci/myapp@sha256%3A0b31", "sha256:0b31"),
        ("pkg:golang/mygit.com/myorg/myapp@234fd47e", "234fd47e"),
        ("pkg:maven/org.acme/app@1.4.2?type=jar", "1.4.2"),
        ("pkg:npm/%40acme/web@2.0.0#dist", "2.0.0"),
        ("pkg:oci/myapp", None),
    ],
)
def test_purl_version_is_the_part_after_the_at_sign(purl: str, version: str | None) -> None:
    assert purl_version(purl) == version


# --- rejections ---------------------------------------------------------------------------

GOOD = cdevent_doc()


def with_context(**changes: Any) -> bytes:
    doc = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            doc["context"].pop(key, None)
        else:
            doc["context"][key] = value
    return encode(doc)


@pytest.mark.parametrize(
    ("value", "kind", "needle"),
    [
        (b"", RejectionKind.NOT_JSON, "no value"),
        (b"\xff\xfe{}", RejectionKind.NOT_UTF8, "not valid UTF-8"),
        (b"{not json", RejectionKind.NOT_JSON, "line 1 column 2"),
        (b"[1, 2]", RejectionKind.NOT_OBJECT, "JSON array"),
        (b'"hello"', RejectionKind.NOT_OBJECT, "JSON string"),
        (b'{"hello": 1}', RejectionKind.UNKNOWN_FORMAT, "neither a CloudEvent"),
        (with_context(id=None), RejectionKind.MISSING_ATTRIBUTE, "context.id is missing"),
        (with_context(id=""), RejectionKind.MISSING_ATTRIBUTE, "context.id must be a non-empty"),
        (with_context(source=None), RejectionKind.MISSING_ATTRIBUTE, "context.source"),
        (with_context(source="  "), RejectionKind.MISSING_ATTRIBUTE, "context.source"),
        (with_context(type=None), RejectionKind.MISSING_ATTRIBUTE, "context.type"),
        (
            with_context(type="com.example.deployed.1.0.0"),
            RejectionKind.UNKNOWN_TYPE,
            "unknown prefix",
        ),
        (with_context(type="dev.cdevents.deployed"), RejectionKind.UNKNOWN_TYPE, "malformed"),
        (
            with_context(type="dev.cdeventsx.golive-release.exploded.0.1.0"),
            RejectionKind.UNKNOWN_TYPE,
            "not a golive type",
        ),
        (
            with_context(type="dev.cdeventsx.golive-release.closed.1.0.0"),
            RejectionKind.UNSUPPORTED_VERSION,
            "major version 1",
        ),
        (with_context(specversion="1.0.0"), RejectionKind.UNSUPPORTED_VERSION, "0.4.x, 0.5.x"),
        (
            with_context(specversion="0.3.0"),
            RejectionKind.UNSUPPORTED_VERSION,
            "0.3.0 is not supported",
        ),
        (with_context(specversion=None), RejectionKind.MISSING_ATTRIBUTE, "context.specversion"),
        (
            with_context(timestamp="2026-11-24T10:00:00"),
            RejectionKind.INVALID_TIMESTAMP,
            "no time zone",
        ),
        (with_context(timestamp="yesterday"), RejectionKind.INVALID_TIMESTAMP, "not an RFC 3339"),
        (with_context(timestamp=None), RejectionKind.MISSING_ATTRIBUTE, "context.timestamp"),
    ],
)
def test_bad_input_is_rejected_with_a_precise_reason(
    value: bytes, kind: RejectionKind, needle: str
) -> None:
    rejection = rejected(value)
    assert rejection.kind is kind
    assert needle in rejection.reason


def test_invalid_content_names_the_field() -> None:
    doc = json.loads((SCHEMAS / "golive-rollout.started.json").read_text())
    doc["subject"]["content"]["desiredInstances"] = -1
    rejection = rejected(encode(doc))
    assert rejection.kind is RejectionKind.INVALID_CONTENT
    assert "subject.content.desiredInstances" in rejection.reason


def test_missing_required_content_field_names_it() -> None:
    doc = cdevent_doc()
    del doc["subject"]["content"]["artifactId"]
    rejection = rejected(encode(doc))
    assert "subject.content.artifactId: Field required" in rejection.reason


def test_golive_due_date_without_time_zone_is_rejected() -> None:
    doc = json.loads((SCHEMAS / "golive-task.scheduled.json").read_text())
    doc["subject"]["content"]["dueDate"] = "2026-12-01T18:00:00"
    rejection = rejected(encode(doc))
    assert rejection.kind is RejectionKind.INVALID_CONTENT
    assert "dueDate" in rejection.reason


def test_objective_with_an_unknown_kpi_is_rejected() -> None:
    doc = json.loads((SCHEMAS / "golive-release.planned.json").read_text())
    doc["subject"]["content"]["objectives"][0]["kpi"] = "happiness"
    assert "objectives.0.kpi" in rejected(encode(doc)).reason


def test_oversized_payload_is_rejected_before_parsing() -> None:
    rejection = rejected(b"{" + b" " * 2048 + b"}", max_bytes=1024)
    assert rejection.kind is RejectionKind.TOO_LARGE
    assert "GOLIVE_MAX_EVENT_BYTES" in rejection.reason


def test_default_size_limit_is_one_mebibyte() -> None:
    doc = cdevent_doc()
    doc["subject"]["content"]["padding"] = "x" * (1024 * 1024)
    assert rejected(encode(doc)).kind is RejectionKind.TOO_LARGE


def test_cloudevent_with_another_major_specversion_is_rejected() -> None:
    envelope = {
        "specversion": "2.0",
        "id": "e1",
        "source": "/ci",
        "type": GOOD["context"]["type"],
        "data": GOOD,
    }
    assert rejected(encode(envelope)).kind is RejectionKind.UNSUPPORTED_VERSION


def test_cloudevent_without_id_is_rejected() -> None:
    envelope = {
        "specversion": "1.0",
        "source": "/ci",
        "type": GOOD["context"]["type"],
        "data": GOOD,
    }
    assert "CloudEvents attribute id is missing" in rejected(encode(envelope)).reason


def test_cloudevent_whose_id_differs_from_the_cdevent_context_is_rejected() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "other",
        "source": "/ci",
        "type": GOOD["context"]["type"],
        "data": GOOD,
    }
    rejection = rejected(encode(envelope))
    assert rejection.kind is RejectionKind.INCONSISTENT
    assert "'other' differs from context.id 'e1'" in rejection.reason


def test_binary_mode_with_non_utf8_header_is_rejected() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"\xff")]
    assert rejected(encode(GOOD), headers).kind is RejectionKind.NOT_UTF8


@pytest.mark.parametrize(
    ("ce_time", "accepted_"),
    [
        (GOOD["context"]["timestamp"], True),  # the context's, text for text
        ("2026-11-24T11:00:00+01:00", True),  # another text, still a timestamp
        ("yesterday", False),
    ],
)
def test_the_ce_time_header_is_checked_unless_it_repeats_the_context(
    ce_time: str, accepted_: bool
) -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", GOOD["context"]["id"].encode()),
        ("ce_source", GOOD["context"]["source"].encode()),
        ("ce_type", GOOD["context"]["type"].encode()),
        ("ce_time", ce_time.encode()),
    ]
    result = decode_record(encode(GOOD), headers)
    if accepted_:
        assert isinstance(result, Event)
    else:
        assert isinstance(result, Rejection)
        assert result.kind is RejectionKind.INVALID_TIMESTAMP
        assert "CloudEvents time" in result.reason


def test_binary_mode_missing_ce_source_is_rejected() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"e1"), ("ce_type", b"x")]
    assert "header ce_source is missing" in rejected(encode(GOOD), headers).reason


def test_structured_cloudevent_whose_data_is_not_an_object_is_rejected() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "e1",
        "source": "/ci",
        "type": GOOD["context"]["type"],
        "data": [1],
    }
    assert rejected(encode(envelope)).kind is RejectionKind.NOT_OBJECT


def test_nul_character_is_rejected_because_postgres_cannot_store_it() -> None:
    doc = cdevent_doc()
    doc["subject"]["id"] = "check\u0000out"
    rejection = rejected(encode(doc))
    assert rejection.kind is RejectionKind.INVALID_CONTENT
    assert "NUL" in rejection.reason


def test_nan_is_not_json() -> None:
    value = encode(cdevent_doc()).replace(b'"checkout"', b'"checkout", "x": NaN')
    rejection = rejected(value)
    assert rejection.kind is RejectionKind.NOT_JSON
    assert "NaN" in rejection.reason


def test_nul_in_a_binary_header_is_rejected() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"a\x00b")]
    assert rejected(encode(GOOD), headers).kind is RejectionKind.NOT_UTF8


# --- parsing: orjson where it agrees with the standard library, the library otherwise ---

_PARSE_EDGES = [
    '{"a": 1, "a": 2}',  # duplicate keys: the last wins, in both
    '{"a": 1e400}',  # an overflowing literal: refused (the library would read inf)
    '{"a": -1e400}',
    '{"a": 123456789012345678901234567890}',  # orjson would read a float
    '{"a": -9223372036854775809}',
    '{"a": 18446744073709551616}',
    '{"a": "\\ud800"}',  # a lone surrogate: orjson refuses it, and so does golive
    '{"a": "caf\\u00e9", "b": [1.5, -0.0, true, null]}',
    '\ufeff{"a": 1}',
    '{"a": 1} x',
    '{"a": NaN}',
    '{"a": Infinity}',
    '{"a": [1, 2,]}',
    "",
    "[1, 2]",
]


def _library(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    def finite(literal: str) -> float:
        if math.isinf(number := float(literal)):
            raise ValueError(literal)
        return number

    try:
        value = json.loads(text, parse_constant=refuse, parse_float=finite)
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate: refused too
        return value
    except ValueError as err:
        return f"refused: {err}"


def _golive(text: str) -> Any:
    try:
        return _loads(text)
    except RejectedError as err:
        return f"refused: {err.rejection.reason}"


def _same(a: Any, b: Any) -> bool:
    # == alone takes 1e29 for 10**29 and misses nan; compare types too, recursively.
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (isinstance(a, float) and a != a and b != b)


@pytest.mark.parametrize("text", _PARSE_EDGES)
def test_parsing_gives_the_standard_librarys_values_on_its_edge_cases(text: str) -> None:
    ours, theirs = _golive(text), _library(text)
    if isinstance(theirs, str) and theirs.startswith("refused"):
        assert isinstance(ours, str), ours
        assert ours.startswith("refused"), ours
    else:
        assert _same(ours, theirs), (ours, theirs)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), _JSON, max_size=5))
def test_parsing_any_json_object_gives_the_standard_librarys_value(document: Any) -> None:
    for text in (json.dumps(document), json.dumps(document, ensure_ascii=False, indent=1)):
        assert _same(_golive(text), _library(text))
