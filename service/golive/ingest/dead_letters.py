"""Dead letters: a rejected record goes to the DLQ topic as it came, with the reason.

Headers added (all UTF-8): `golive.reason` (human text), `golive.reason.kind` (stable
code, see README "Rejections"), `golive.source.topic`, `golive.source.partition`,
`golive.source.offset`, `golive.rejected.at` (RFC 3339). Original headers are kept.
Delivery is at-least-once: a crash after the send and before the batch commits sends
the record again on restart.

A letter always fits golive's producer (1 MiB requests): a value over
`MAX_LETTER_VALUE_BYTES` keeps only its beginning, with `golive.value.truncated` = its
full size, and original headers over `MAX_LETTER_HEADER_BYTES` in all are left out
(`golive.headers.dropped`), as is a key over `MAX_LETTER_KEY_BYTES` (`golive.key.dropped`);
the reason is cut at 1,000 characters. The whole record stays at its source offset. Otherwise a
record the broker took but the producer refuses would be retried forever and stop its
partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from golive.contract import Rejection
from golive.contract.errors import bounded


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    rejection: Rejection


MAX_LETTER_VALUE_BYTES = 512 * 1024
MAX_LETTER_HEADER_BYTES = 64 * 1024
MAX_LETTER_KEY_BYTES = 16 * 1024


def dead_letter_value(letter: DeadLetter) -> bytes:
    value = letter.value if letter.value is not None else b""
    return value[:MAX_LETTER_VALUE_BYTES]


def dead_letter_key(letter: DeadLetter) -> bytes | None:
    key = letter.key
    return key if key is None or len(key) <= MAX_LETTER_KEY_BYTES else None


def dead_letter_headers(letter: DeadLetter, now: datetime) -> list[tuple[str, bytes]]:
    original = list(letter.headers)
    notes: list[tuple[str, bytes]] = []
    size = sum(len(k) + len(v) for k, v in original)
    if size > MAX_LETTER_HEADER_BYTES:
        notes.append(("golive.headers.dropped", f"{len(original)} headers, {size} bytes".encode()))
        original = []
    if letter.value is not None and len(letter.value) > MAX_LETTER_VALUE_BYTES:
        notes.append(("golive.value.truncated", str(len(letter.value)).encode()))
    if letter.key is not None and len(letter.key) > MAX_LETTER_KEY_BYTES:
        notes.append(("golive.key.dropped", str(len(letter.key)).encode()))
    return [
        *original,
        *notes,
        ("golive.reason", bounded(letter.rejection.reason).encode("utf-8", "replace")),
        ("golive.reason.kind", str(letter.rejection.kind).encode()),
        ("golive.source.topic", letter.topic.encode()),
        ("golive.source.partition", str(letter.partition).encode()),
        ("golive.source.offset", str(letter.offset).encode()),
        ("golive.rejected.at", now.isoformat().encode()),
    ]


async def send_dead_letters(
    producer: AIOKafkaProducer, topic: str, letters: Sequence[DeadLetter], now: datetime
) -> None:
    """Send all letters and wait for the broker to acknowledge every one."""
    futures = [
        await producer.send(
            topic,
            value=dead_letter_value(letter),
            key=dead_letter_key(letter),
            headers=dead_letter_headers(letter, now),
        )
        for letter in letters
    ]
    for future in futures:
        await future
