from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.server import harness
from tests.server.harness import Daemon


@pytest.fixture
async def alertd(tmp_path: Path) -> Daemon:
    return await harness.daemon(tmp_path)


@pytest.fixture
async def http(alertd: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async for client in harness.client(alertd.parts):
        yield client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {harness.TOKEN}"}
