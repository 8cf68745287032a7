"""`POST /api/v1/events`: CloudEvents over HTTP, for producers that cannot speak Kafka.

A request is checked in this order, each failure with its own status:
403 the endpoint is disabled (no GOLIVE_API_TOKEN), 401 no or wrong Bearer token,
415 a Content-Type the binding does not know, 413 a body over the limit, 400 a batch
that is not an array or any event `decode_record` rejects (nothing of the request is
produced then), 429 over the event rate, 503 the broker did not acknowledge. Otherwise
every event is on the events topic, keyed by its subject's id, and the answer is 202.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from golive.api.limits import EventRateLimit
from golive.contract import Event, Rejection, decode_record
from golive.contract.http_binding import (
    BATCH_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    STRUCTURED_MEDIA_TYPE,
    HttpMode,
    MalformedBatch,
    UnsupportedMediaType,
    http_mode,
    wire_records,
)
from golive.ingest.kafka import BrokerUnavailableError
from golive.ingest.producer import OutgoingRecord, Produced

SendEvents = Callable[[Sequence[OutgoingRecord]], Awaitable[Sequence[Produced]]]


@dataclass(frozen=True, slots=True)
class Intake:
    """What the endpoint needs from the service: where events go and its limits."""

    send: SendEvents
    token: str | None  # GOLIVE_API_TOKEN; None disables the endpoint
    max_event_bytes: int  # GOLIVE_MAX_EVENT_BYTES: a single event's body
    max_body_bytes: int  # GOLIVE_API_MAX_BODY_BYTES: a batch's body
    rate: EventRateLimit
    # Told each answer's status and how many events it carried (metrics).
    observe: Callable[[int, int], None] = lambda _status, _events: None
    # The latest event time accepted now (clock + GOLIVE_MAX_CLOCK_SKEW); None: no bound.
    latest_time: Callable[[], datetime | None] = lambda: None


class AcceptedEvent(BaseModel):
    id: str
    source: str
    type: str
    subject: str
    topic: str
    partition: int
    offset: int


class Accepted(BaseModel):
    accepted: int
    events: list[AcceptedEvent]


class RejectedEvent(BaseModel):
    index: int  # position in the batch (0 for a single event)
    kind: str  # the rejection code, as in the dead-letter header golive.rejection
    reason: str


class Rejected(BaseModel):
    detail: str
    rejected: list[RejectedEvent]


class Problem(BaseModel):
    detail: str


# The CloudEvents attributes golive requires; the CDEvent is `data` (see schemas/).
_CLOUDEVENT = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "data"],
    "properties": {
        "specversion": {"type": "string", "example": "1.0"},
        "id": {"type": "string"},
        "source": {"type": "string"},
        "type": {"type": "string", "example": "dev.cdevents.service.deployed.0.3.0"},
        "subject": {"type": "string"},
        "time": {"type": "string", "format": "date-time"},
        "team": {"type": "string", "description": "extension: the team to credit"},
        "datacontenttype": {"type": "string", "example": "application/json"},
        "data": {"type": "object", "description": "the CDEvent (context, subject)"},
    },
}
_CDEVENT = {
    "type": "object",
    "description": "binary mode (ce- headers carry the attributes) or a plain CDEvent",
    "required": ["context", "subject"],
    "properties": {"context": {"type": "object"}, "subject": {"type": "object"}},
}
_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        STRUCTURED_MEDIA_TYPE: {"schema": _CLOUDEVENT},
        BATCH_MEDIA_TYPE: {"schema": {"type": "array", "items": _CLOUDEVENT}},
        JSON_MEDIA_TYPE: {"schema": _CDEVENT},
    },
}


class Refused(HTTPException):
    """An answer to a request whose events were decoded: they count in the metrics."""

    def __init__(
        self, events: int, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, headers)
        self.events = events


# Module level: FastAPI resolves the string annotations of the dependency from here.
bearer = HTTPBearer(auto_error=False, description="GOLIVE_API_TOKEN")


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


def ingestion_router(intake: Intake) -> APIRouter:
    router = APIRouter(tags=["ingest"])

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if intake.token is None:
            intake.observe(403, 0)
            raise HTTPException(
                403,
                "POST /api/v1/events is disabled: set GOLIVE_API_TOKEN on golive to enable it, "
                "and send it as 'Authorization: Bearer <token>'",
            )
        if not token_matches(credentials, (intake.token,)):
            intake.observe(401, 0)
            raise HTTPException(
                401,
                "missing or wrong token: send 'Authorization: Bearer <GOLIVE_API_TOKEN>'",
                headers={"WWW-Authenticate": 'Bearer realm="golive"'},
            )

    @router.post(
        "/api/v1/events",
        summary="Send CloudEvents (binary, structured or batch mode) to the events topic",
        description=(
            "The CloudEvents 1.0 HTTP binding. Each event is decoded exactly as a Kafka "
            "record is, then produced to the events topic keyed by `subject.id`; 202 once "
            "the broker acknowledged every event. A batch is all or nothing: if any event "
            "is rejected, none is produced and the 400 lists each rejection."
        ),
        status_code=202,
        response_model=Accepted,
        dependencies=[Depends(authorised)],
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={
            400: {"model": Rejected, "description": "an event is rejected (reason per event)"},
            401: _problem("no or wrong Bearer token"),
            403: _problem("disabled: GOLIVE_API_TOKEN is not set"),
            413: _problem("body over GOLIVE_MAX_EVENT_BYTES (batch: GOLIVE_API_MAX_BODY_BYTES)"),
            415: _problem("Content-Type not of the CloudEvents HTTP binding"),
            429: _problem("over GOLIVE_API_EVENT_RATE events/s; see Retry-After"),
            503: _problem("the broker did not acknowledge; retry (resending is safe)"),
        },
    )
    async def post_events(request: Request) -> Any:
        try:
            return await _ingest(request)
        except HTTPException as err:
            intake.observe(err.status_code, err.events if isinstance(err, Refused) else 0)
            raise

    async def _ingest(request: Request) -> Any:
        content_type = request.headers.get("content-type")
        headers = list(request.headers.items())
        try:
            mode = http_mode(content_type, headers)
        except UnsupportedMediaType as err:
            raise HTTPException(415, str(err)) from None
        limit = intake.max_body_bytes if mode is HttpMode.BATCH else intake.max_event_bytes
        body = await _read_body(request, limit, mode)
        try:
            records = wire_records(mode, content_type or "", headers, body)
        except MalformedBatch as err:
            intake.observe(400, 0)
            return JSONResponse(
                Rejected(detail=str(err), rejected=[]).model_dump(), status_code=400
            )
        not_after = intake.latest_time()
        decoded = [
            decode_record(r.value, r.headers, max_bytes=intake.max_event_bytes, not_after=not_after)
            for r in records
        ]
        rejections = [
            RejectedEvent(index=i, kind=str(d.kind), reason=d.reason)
            for i, d in enumerate(decoded)
            if isinstance(d, Rejection)
        ]
        if rejections:
            detail = f"{len(rejections)} of {len(decoded)} event(s) rejected; nothing was produced"
            intake.observe(400, len(decoded))
            return JSONResponse(
                Rejected(detail=detail, rejected=rejections).model_dump(), status_code=400
            )
        events = [d for d in decoded if isinstance(d, Event)]
        wait = intake.rate.admit(len(events))
        if wait is not None:
            raise Refused(
                len(events),
                429,
                "over the event rate limit of this instance (GOLIVE_API_EVENT_RATE): retry later",
                headers={"Retry-After": EventRateLimit.retry_after(wait)},
            )
        outgoing = [
            OutgoingRecord(e.subject_id.encode(), r.value, r.headers)
            for e, r in zip(events, records, strict=True)
        ]
        try:
            stored = await intake.send(outgoing) if outgoing else []
        except BrokerUnavailableError as err:
            raise Refused(len(events), 503, str(err), headers={"Retry-After": "5"}) from None
        intake.observe(202, len(events))
        return Accepted(
            accepted=len(events),
            events=[
                AcceptedEvent(
                    id=e.id,
                    source=e.source,
                    type=e.type,
                    subject=e.subject_id,
                    topic=p.topic,
                    partition=p.partition,
                    offset=p.offset,
                )
                for e, p in zip(events, stored, strict=True)
            ],
        )

    return router


def token_matches(
    credentials: HTTPAuthorizationCredentials | None, tokens: tuple[str, ...]
) -> bool:
    """Whether the Bearer credentials are one of `tokens`.

    Constant time, on digests of equal length, and every token compared: the answer's
    timing tells neither how much of a guess was right, nor how long a token is, nor which.
    """
    if credentials is None:
        return False
    given = _digest(credentials.credentials)
    matches = [hmac.compare_digest(given, _digest(token)) for token in tokens]
    return any(matches)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _read_body(request: Request, limit: int, mode: HttpMode) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` (never buffered whole)."""
    what = "a batch" if mode is HttpMode.BATCH else "an event"
    setting = "GOLIVE_API_MAX_BODY_BYTES" if mode is HttpMode.BATCH else "GOLIVE_MAX_EVENT_BYTES"
    too_large = HTTPException(413, f"the body of {what} is limited to {limit} bytes ({setting})")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)
