"""A batch's fold gives the same rows whether it yields to the event loop as it goes or not."""

from __future__ import annotations

import asyncio
import itertools

from bench.fixtures import stream
from bench.mix import Mix, catalog_of
from golive.contract import Event, decode_record
from golive.store.batches import ENCODE_SLICE, fold, wanted_by
from golive.store.cache import ABSENT
from golive.store.codec import encode_text
from golive.store.projections import BY_FIELD, Rows, rows_of, rows_with


def _events(mix: Mix) -> list[Event]:
    events = []
    for record in itertools.islice(stream(mix), mix.events):
        event = decode_record(record.value, record.headers)
        assert isinstance(event, Event)
        events.append(event)
    return events


def test_a_sliced_fold_encodes_the_same_rows_as_a_whole_one() -> None:
    mix = Mix(events=4000, services=100, teams=10, releases=4, closed_releases=4)
    events, catalog = _events(mix), catalog_of(mix)

    async def folded(sliced: bool) -> dict[str, Rows]:
        wanted = wanted_by(events, catalog)
        before = {name: dict.fromkeys(keys, ABSENT) for name, keys in wanted.items()}
        return (await fold(events, catalog, wanted, before, sliced=sliced)).rows

    sliced, whole = asyncio.run(folded(True)), asyncio.run(folded(False))
    assert sliced == whole
    # The stream's timelines and rollouts are more than a slice: the joins were taken.
    assert max(rows.count for rows in whole.values()) > 2 * ENCODE_SLICE


def test_rows_of_documents_encoded_apart_are_the_rows_encoded_together() -> None:
    mix = Mix(events=800, services=20, teams=4, releases=2, closed_releases=2)
    events, catalog = _events(mix), catalog_of(mix)

    async def timelines() -> dict[object, object]:
        wanted = wanted_by(events, catalog)
        before = {name: dict.fromkeys(keys, ABSENT) for name, keys in wanted.items()}
        return (await fold(events, catalog, wanted, before, sliced=False)).changed["timelines"]

    entities = asyncio.run(timelines())
    assert len(entities) > 3
    projection = BY_FIELD["timelines"]
    docs = [encode_text(e) for e in entities.values()]
    assert rows_with(projection, entities, docs) == rows_of(projection, entities)
    assert rows_with(projection, {}, []) == Rows(0, "[]", "[]")
