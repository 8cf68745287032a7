"""The entity cache: which locked rows an entry stands for, what it keeps, when it forgets."""

from __future__ import annotations

from golive.store.cache import ABSENT, MAX_XID_SPAN, EntityCache, Entry, Write


def test_an_entry_stands_for_the_row_its_write_left() -> None:
    written = Entry("task", Write(0x1_0000_0005))  # a 64-bit xid; rows show its low 32 bits
    assert written.matches(5, stored=True)
    assert not written.matches(6, stored=True)  # rewritten by another transaction since
    assert not written.matches(5, stored=False)


def test_an_entry_of_an_uncommitted_write_stands_for_no_row() -> None:
    assert not Entry("task", Write()).matches(5, stored=True)
    assert not Entry("task", None).matches(5, stored=True)  # a row too old to trust


def test_an_absent_entry_stands_for_a_row_without_an_entity() -> None:
    assert ABSENT.matches(123, stored=False)
    assert not ABSENT.matches(123, stored=True)  # someone created it since


def test_the_least_recently_used_entry_goes_beyond_capacity() -> None:
    cache = EntityCache(2)
    cache.put("tasks", "a", ABSENT)
    cache.put("tasks", "b", ABSENT)
    assert cache.get("tasks", "a") is ABSENT  # now the most recently used
    cache.put("tasks", "c", ABSENT)
    assert cache.get("tasks", "b") is None
    assert cache.get("tasks", "a") is ABSENT
    assert len(cache) == 2


def test_a_cache_of_no_capacity_keeps_nothing() -> None:
    cache = EntityCache(0)
    cache.put("tasks", "a", ABSENT)
    assert cache.get("tasks", "a") is None


def test_invalidating_forgets_everything_and_moves_the_epoch() -> None:
    cache = EntityCache(10)
    cache.put("teams", "payments", ABSENT)
    epoch = cache.epoch
    cache.invalidate()
    assert cache.get("teams", "payments") is None
    assert cache.epoch == epoch + 1


def test_entries_are_dropped_before_their_xmin_could_be_reused() -> None:
    cache = EntityCache(10)
    cache.committed(1000)
    cache.put("teams", "payments", Entry("team", Write(1000)))
    cache.committed(1000 + MAX_XID_SPAN)
    assert cache.get("teams", "payments") is not None
    cache.committed(1001 + MAX_XID_SPAN)
    assert cache.get("teams", "payments") is None
