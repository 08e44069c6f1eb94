"""`alertd silence --url` and `alertd alerts --url`: through a daemon's API on a real port."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from alertd.commands import alerts, silence
from alertd.server.app import build_app
from alertd.server.parts import LoopLag
from alertd.server.serve import HttpServer
from alertd.settings import Settings
from tests.server import harness
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(alertd: Daemon) -> AsyncIterator[str]:
    server = HttpServer(build_app(alertd.parts), "127.0.0.1", 0, LoopLag())
    async with anyio.create_task_group() as tasks:
        await tasks.start(server.run)
        yield server.url
        server.stop()


def args(action: str, url: str, **more: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"json": True, "all": False, "author": "ops", "start": None}
    return argparse.Namespace(action=action, url=url, **{**defaults, **more})


async def run(namespace: argparse.Namespace, alertd: Daemon) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await anyio.to_thread.run_sync(silence.run, namespace, out, err, alertd.clock)
    return code, out.getvalue(), err.getvalue()


async def test_add_list_expire_through_the_api(
    alertd: Daemon, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTD_API_TOKEN", harness.TOKEN)
    add = args(
        "add",
        served,
        matchers=["SlowTable", "table=users"],
        duration="1h",
        until=None,
        comment="maintenance",
    )
    code, out, err = await run(add, alertd)
    assert code == 0, err
    added = json.loads(out)
    (stored,) = await alertd.store.silences()
    assert added["id"] == stored.id
    assert stored.matchers == ('alertname="SlowTable"', 'table="users"')
    assert added["starts_at"] == "2026-11-28T10:05:00Z"

    code, out, _ = await run(args("list", served), alertd)
    assert [s["id"] for s in json.loads(out)] == [stored.id]

    code, out, _ = await run(args("expire", served, id=stored.id), alertd)
    assert code == 0
    assert out.startswith(f"expired silence {stored.id}")
    assert await alertd.store.silences(active_at=AT) == []
    code, _, err = await run(args("expire", served, id="nope"), alertd)
    assert code == 1
    assert "no silence 'nope'" in err


async def test_without_the_token_the_daemon_says_why(alertd: Daemon, served: str) -> None:
    add = args("add", served, matchers=["x=y"], duration="1h", until=None, comment="c")
    code, _, err = await run(add, alertd)
    assert code == 1
    assert "HTTP 401: a valid bearer token is needed" in err


async def test_an_unreachable_daemon_is_named(alertd: Daemon, tmp_path: Path) -> None:
    code, _, err = await run(args("list", "http://127.0.0.1:9"), alertd)
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err


async def test_alerts_through_the_api_say_which_are_muted_and_why(
    alertd: Daemon, served: str
) -> None:
    listing = argparse.Namespace(url=served, matchers=["SlowTable"], json=True, rules=None)
    out, err = io.StringIO(), io.StringIO()
    code = await anyio.to_thread.run_sync(alerts.run, listing, Settings(), out, err, alertd.clock)
    assert code == 0, err.getvalue()
    shown = {a["labels"]["table"]: a for a in json.loads(out.getvalue())}
    assert set(shown) == {"users", "orders", "carts"}
    assert shown["users"]["severity"] == "critical"
    assert not shown["users"]["muted"]
    users = shown["users"]["fingerprint"]
    # The warnings are inhibited by the critical users alert, named by its fingerprint.
    assert shown["orders"]["muted_by"] == f"inhibited by {users}"
    assert shown["carts"]["muted"]


async def test_alerts_from_an_unreachable_daemon_name_it(alertd: Daemon) -> None:
    listing = argparse.Namespace(url="http://127.0.0.1:9", matchers=[], json=False, rules=None)
    out, err = io.StringIO(), io.StringIO()
    code = await anyio.to_thread.run_sync(alerts.run, listing, Settings(), out, err, alertd.clock)
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err.getvalue()
