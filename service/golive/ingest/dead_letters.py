"""Dead letters: a rejected record goes to the DLQ topic as it came, with the reason.

Headers added (all UTF-8): `golive.reason` (human text), `golive.reason.kind` (stable
code, see README "Rejections"), `golive.source.topic`, `golive.source.partition`,
`golive.source.offset`, `golive.rejected.at` (RFC 3339). Original headers are kept.
Delivery is at-least-once: a crash after the send and before the batch commits sends
the record again on restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from golive.contract import Rejection


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    rejection: Rejection


def dead_letter_headers(letter: DeadLetter, now: datetime) -> list[tuple[str, bytes]]:
    return [
        *letter.headers,
        ("golive.reason", letter.rejection.reason.encode()),
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
            value=letter.value if letter.value is not None else b"",
            key=letter.key,
            headers=dead_letter_headers(letter, now),
        )
        for letter in letters
    ]
    for future in futures:
        await future
