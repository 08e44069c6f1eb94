"""The status page served by uvicorn on a real loopback port, over a SQLite store."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from alertd.clock import FakeClock
from alertd.server.status_page import status_routes
from alertd.store.sqlite import SqliteStore
from tests.server.emulated import shipped_rules
from tests.server.scenario import AT, INHIBIT_RULES, stored

STARTUP_SECONDS = 20


@contextmanager
def serving(state_dir: Path, token: str) -> Iterator[str]:
    """The status page of a demo-like moment at `http://127.0.0.1:<free port>`."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    host, port = listener.getsockname()
    failed: list[BaseException] = []
    servers: list[uvicorn.Server] = []

    async def serve() -> None:
        store = await SqliteStore.open(state_dir / "alertd.db")
        try:
            made = await stored(store, with_silence=False)
            rules = shipped_rules()
            routes = status_routes(
                store=store,
                states=lambda: made.states,
                ruleset=lambda: rules,
                clock=FakeClock(AT),
                api_token=token,
                inhibit_rules=lambda: INHIBIT_RULES,
            )
            config = uvicorn.Config(
                Starlette(routes=routes), log_level="warning", access_log=False, lifespan="off"
            )
            server = uvicorn.Server(config)
            servers.append(server)
            await server.serve(sockets=[listener])
        finally:
            await store.aclose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test, which would otherwise hang
            failed.append(exc)

    thread = threading.Thread(target=run, name="status-page", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    try:
        _wait_until_serving(url, thread, failed)
        yield url
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(STARTUP_SECONDS)
        listener.close()


def _wait_until_serving(url: str, thread: threading.Thread, failed: list[BaseException]) -> None:
    # A probe waits in the listener's backlog until the server accepts: no sleeping.
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the status page stopped while starting: {failed}")
        try:
            if httpx.get(url + "/", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            thread.join(timeout=0.05)  # returns at once if the server thread died
    raise RuntimeError(f"the status page did not answer within {STARTUP_SECONDS} s")
