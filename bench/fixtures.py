"""A deterministic production stream for the benchmarks: `events` Kafka records of the
demo's mix, scaled to many services, teams and releases.

The story of every service is a series of *shipments*: a change opened and merged, a CI
run, an artifact packaged, a deployment to staging, then a rollout to prod (started,
several progressed samples, finished) and `service.deployed` to prod when it succeeds;
a few rollouts fail or are rolled back, a few deployments cause an incident that a
`service.rolledback` repairs. Releases are planned (with services, teams, objectives),
some rescheduled, the older ones closed; their tasks are scheduled, started, blocked and
finished on the release board (golive-task) or in Jira (CDEvents tickets). CI runs on
branches fill the rest: activity that golive stores and counts but does not interpret.

Every random choice comes from a generator seeded by the story's own key, so a story
renders the same events every time, and the stream is the same for the same `Mix`.
Records come out in event-time order, as a well-behaved producer would send them.
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bench.mix import NOW, Draft, Mix, Story
from bench.stories import ci_run, stories
from golive.demo.records import event_type, rfc3339

TOPIC = "golive.events"
PARTITIONS = 12


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka record of the stream, with where it sits in the topic."""

    time: datetime
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The stories in the order their first event happens, and the size of the stream."""

    stories: list[tuple[datetime, int, Story]]
    counts: dict[str, int]  # events by subject.predicate

    @property
    def events(self) -> int:
        return sum(self.counts.values())


def plan(mix: Mix) -> Plan:
    """Tell every story once to learn when it starts and how many events it has before
    `NOW`; CI runs then fill the stream up to exactly `mix.events` events."""
    counts: dict[str, int] = {}
    ordered: list[tuple[datetime, int, Story]] = []

    def add(story: Story) -> None:
        drafts = [d for d in story.render() if d.time <= NOW]
        if drafts:
            ordered.append((min(d.time for d in drafts), len(ordered), story))
        for d in drafts:
            counts[d.name] = counts.get(d.name, 0) + 1

    for story in stories(mix):
        add(story)
    told = sum(counts.values())
    if told > mix.events:
        raise ValueError(
            f"{mix.events} events cannot hold {mix.services} services' shipments and "
            f"{mix.releases + mix.closed_releases} releases' tasks ({told} events): "
            "raise --events or lower --services"
        )
    for n in range(mix.events - told):
        add(Story(f"ci/{n}", partial(ci_run, mix, n)))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return Plan(ordered, counts)


def stream(mix: Mix, planned: Plan | None = None) -> Iterator[Record]:
    """The records of the stream in event-time order (a heap merge of the stories)."""
    planned = planned or plan(mix)
    heap: list[tuple[datetime, int, Draft]] = []
    offsets = [0] * PARTITIONS
    sequence = 0

    def encode(draft: Draft, number: int) -> Record:
        partition = zlib.crc32(draft.subject.encode()) % PARTITIONS
        offset = offsets[partition]
        offsets[partition] += 1
        value, headers = _wire(draft, f"{mix.seed}-{number}")
        return Record(draft.time, draft.subject, value, headers, partition, offset)

    emitted = 0
    for start, _, story in planned.stories:
        while heap and heap[0][0] <= start:
            yield encode(heapq.heappop(heap)[2], emitted)
            emitted += 1
        for draft in story.render():
            if draft.time <= NOW:
                heapq.heappush(heap, (draft.time, sequence, draft))
                sequence += 1
    while heap:
        yield encode(heapq.heappop(heap)[2], emitted)
        emitted += 1


def _wire(draft: Draft, event_id: str) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """The record value and headers, as the demo's producers send them (CDEvents 0.5.1)."""
    type_ = event_type(draft.name)
    timestamp = rfc3339(draft.time)
    cdevent: dict[str, Any] = {
        "context": {
            "specversion": "0.5.1",
            "id": event_id,
            "source": draft.source,
            "type": type_,
            "timestamp": timestamp,
        },
        "subject": {"id": draft.subject, "source": draft.source, "content": draft.content},
    }
    if draft.custom is not None:
        cdevent["customData"] = draft.custom
        cdevent["customDataContentType"] = "application/json"
    attributes = {
        "specversion": "1.0",
        "id": event_id,
        "source": draft.source,
        "type": type_,
        "subject": draft.subject,
        "time": timestamp,
    }
    if draft.team is not None:
        attributes["team"] = draft.team
    if draft.fmt == "structured":
        document = {**attributes, "datacontenttype": "application/json", "data": cdevent}
        headers: tuple[tuple[str, bytes], ...] = (
            ("content-type", b"application/cloudevents+json"),
        )
    elif draft.fmt == "binary":
        document = cdevent
        headers = (
            ("content-type", b"application/json"),
            *((f"ce_{k}", v.encode()) for k, v in attributes.items()),
        )
    else:
        document = cdevent
        headers = (("content-type", b"application/json"),)
    return json.dumps(document, separators=(",", ":")).encode(), headers
