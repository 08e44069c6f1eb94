"""Every store the contract suites hold to the same behaviour: in memory, an SQLite file,
and a PostgreSQL schema of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alertd.store.base import Store
from alertd.store.memory import MemoryStore
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore
from tests.contract.store.builders import HISTORY


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(history_limit=HISTORY)
    elif request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = await PostgresStore.open(url, history_limit=HISTORY)
    else:
        opened = await SqliteStore.open(tmp_path / "alertd.db", history_limit=HISTORY)
    yield opened
    await opened.aclose()
