"""Why a record was not accepted: the reason travels to the dead-letter headers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError


class RejectionKind(StrEnum):
    """Stable, machine-readable rejection codes (used as a DLQ header and a metric label)."""

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_ATTRIBUTE = "missing_attribute"
    UNKNOWN_FORMAT = "unknown_format"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_CONTENT = "invalid_content"
    INCONSISTENT = "inconsistent"
    STORE_REFUSED = "store_refused"  # decoded, but Postgres refused to store it
    ID_CONFLICT = "id_conflict"  # its (source, id) is already another event's


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record golive cannot accept, with a reason a person can act on."""

    kind: RejectionKind
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


MAX_REASON_CHARS = 1000


def bounded(reason: str) -> str:
    """A reason quotes what it refuses, and hostile input can be huge: keep it readable
    (and a dead letter's header small)."""
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return f"{reason[: MAX_REASON_CHARS - 40]}... ({len(reason)} characters in all)"


class RejectedError(Exception):
    """Raised inside the decoder; turned into a `Rejection` at its border."""

    def __init__(self, kind: RejectionKind, reason: str) -> None:
        reason = bounded(reason)
        super().__init__(reason)
        self.rejection = Rejection(kind, reason)


def validation_problems(err: ValidationError, prefix: str = "") -> str:
    """`subject.content.x: message; ...`: each problem of a pydantic validation, located
    under `prefix` (a path ending in a dot, or empty)."""
    return "; ".join(
        f"{prefix}{'.'.join(str(p) for p in e['loc'])}".rstrip(".") + f": {e['msg']}"
        for e in err.errors(include_url=False)
    )
