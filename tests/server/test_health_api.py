"""Liveness and readiness, at both spellings."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.server.harness import AT, Daemon, failing

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/healthz", "/-/healthy"])
async def test_healthy(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/readyz", "/-/ready"])
async def test_ready_until_a_dataset_stops_answering(
    alertd: Daemon, http: httpx.AsyncClient, path: str
) -> None:
    ready = await http.get(path)
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "problems": []}
    group = alertd.evaluator.ruleset.groups[0]
    alertd.source.errors["db"] = failing()
    for tick in range(1, 3):
        await alertd.evaluator.tick(group, AT + dt.timedelta(seconds=30 * tick))
    assert (await http.get(path)).status_code == 200  # two failed ticks are tolerated
    await alertd.evaluator.tick(group, AT + dt.timedelta(seconds=90))
    not_ready = await http.get(path)
    assert not_ready.status_code == 503
    assert not_ready.json() == {
        "ready": False,
        "problems": ["dataset db: its last 3 ticks got no answer"],
    }
    del alertd.source.errors["db"]
    await alertd.evaluator.tick(group, AT + dt.timedelta(seconds=120))
    assert (await http.get(path)).status_code == 200


async def test_not_ready_while_the_store_takes_no_writes(
    alertd: Daemon, http: httpx.AsyncClient
) -> None:
    alertd.parts.health.write_failed("commit", OSError("disk full"), AT)
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["state store takes no writes: disk full"]
