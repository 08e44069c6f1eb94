"""The silences role, held to one suite for every store: what `alertd silence`, the API
and the notifier may rely on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertd.store.base import Silences
from tests.contract.store.builders import (
    T0,
    at,
    silence,
)

pytestmark = pytest.mark.anyio


async def test_silences_are_listed_by_start_and_filtered_by_activity(store: Silences) -> None:
    await store.add_silence(silence("later", 60, 120))
    await store.add_silence(silence("b-now", 0, 60))
    await store.add_silence(silence("a-now", 0, 30))

    assert [s.id for s in await store.silences()] == ["a-now", "b-now", "later"]
    assert await store.silences() == [
        silence("a-now", 0, 30),
        silence("b-now", 0, 60),
        silence("later", 60, 120),
    ]
    # The start is included and the end is not.
    assert [s.id for s in await store.silences(active_at=at(0))] == ["a-now", "b-now"]
    assert [s.id for s in await store.silences(active_at=at(30))] == ["b-now"]
    assert [s.id for s in await store.silences(active_at=at(60))] == ["later"]
    assert await store.silences(active_at=at(120)) == []
    assert await store.silences(active_at=at(-0.000001)) == []


async def test_adding_a_silence_with_a_known_id_replaces_it(store: Silences) -> None:
    await store.add_silence(silence("s1", 0, 60))
    edited = replace(silence("s1", 0, 600), comment="longer migration")

    await store.add_silence(edited)

    assert await store.silences() == [edited]


async def test_expiring_an_active_silence_ends_it_then(store: Silences) -> None:
    await store.add_silence(silence("s1", 0, 600))

    assert await store.expire_silence("s1", at(30)) is True

    assert await store.silences() == [silence("s1", 0, 30)]
    assert await store.silences(active_at=at(30)) == []


async def test_expiring_an_ended_silence_keeps_its_end(store: Silences) -> None:
    await store.add_silence(silence("s1", 0, 60))

    assert await store.expire_silence("s1", at(90)) is True

    assert await store.silences() == [silence("s1", 0, 60)]


async def test_expiring_a_silence_before_it_starts_ends_it_unstarted(store: Silences) -> None:
    await store.add_silence(silence("s1", 60, 600))

    assert await store.expire_silence("s1", at(30)) is True

    assert await store.silences() == [silence("s1", 30, 30)]
    assert await store.silences(active_at=at(60)) == []


async def test_expiring_an_unknown_silence_says_so(store: Silences) -> None:
    assert await store.expire_silence("no-such-silence", T0) is False
    assert await store.silences() == []
