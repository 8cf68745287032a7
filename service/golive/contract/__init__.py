"""The event contract: every accepted input format decodes into one typed `Event`."""

from golive.contract.decode import DEFAULT_MAX_EVENT_BYTES, decode_json, decode_record
from golive.contract.errors import Rejection, RejectionKind
from golive.contract.event import Event, Mode, purl_version
from golive.contract.types import EventType, Namespace

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "Event",
    "EventType",
    "Mode",
    "Namespace",
    "Rejection",
    "RejectionKind",
    "decode_json",
    "decode_record",
    "purl_version",
]
