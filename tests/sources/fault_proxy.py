"""A local HTTP proxy in front of the AE emulator that answers badly on demand.

It runs on 127.0.0.1 (a free port) in a thread, so a daemon in another process can use it.
Set `mode` to choose how the next requests are answered:

- `pass`: the emulator's answer, unchanged;
- `trickle`: the emulator's answer, one byte every `trickle_seconds`;
- `columnless`: 200 with `{"meta": [], "data": []}`;
- `text_in_numbers`: the emulator's answer with text in every numeric column (typed String);
- `missing_column`: the emulator's answer without its last column;
- `hang`: no answer at all, until the client goes away;
- `cut`: the emulator's answer promised in full, then the connection closed halfway;
- `huge`: 200 with a body of `huge_bytes` bytes of valid JSON, in 64 KiB chunks.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import uvicorn

from tests.notify.fakes import read_body

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MODES = (
    "pass",
    "trickle",
    "columnless",
    "text_in_numbers",
    "missing_column",
    "hang",
    "cut",
    "huge",
)
COLUMNLESS = b'{"meta":[],"data":[]}'


class FaultProxy:
    """An ASGI app forwarding to `upstream` (the emulator's root URL), or failing as told."""

    def __init__(self, upstream: str, base_url: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.base_url = base_url  # where an AE client points: .../client/v4
        self.mode = "pass"
        self.trickle_seconds = 0.2
        self.huge_bytes = 4 * 1024 * 1024
        self.answered: Counter[str] = Counter()  # requests seen, by the mode they met
        self.huge_sent = 0  # bytes of `huge` bodies the server got to send

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        mode = self.mode
        self.answered[mode] += 1
        async with anyio.create_task_group() as tasks:

            async def answer() -> None:
                await self._answer(mode, scope, body, send)
                tasks.cancel_scope.cancel()

            tasks.start_soon(answer)
            # A client that gives up ends the answer: a hang or a trickle stops with it.
            while (await receive())["type"] != "http.disconnect":
                pass
            tasks.cancel_scope.cancel()

    async def _answer(self, mode: str, scope: dict[str, Any], body: bytes, send: Send) -> None:
        if mode == "hang":
            await anyio.sleep_forever()
        if mode == "columnless":
            await _respond(send, 200, COLUMNLESS)
            return
        if mode == "huge":
            await self._huge(send)
            return
        status, content = await self._forward(scope, body)
        if mode == "trickle":
            await _start(send, status, len(content))
            for index in range(len(content)):
                await send(_body(content[index : index + 1], more=True))
                await anyio.sleep(self.trickle_seconds)
            await send(_body(b"", more=False))
        elif mode == "cut":
            await _start(send, status, len(content))
            # Returning with more_body promised makes uvicorn drop the connection.
            await send(_body(content[: len(content) // 2], more=True))
        else:
            await _respond(send, status, rewrite(mode, content) if status == 200 else content)

    async def _forward(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        headers = [
            (k, v) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")
        ]
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            answer = await client.request(
                scope["method"], scope["path"], content=body, headers=headers
            )
        return answer.status_code, answer.content

    async def _huge(self, send: Send) -> None:
        await _start(send, 200, None)
        await send(_body(b'{"meta":[{"name":"x","type":"String"}],"data":[', more=True))
        row = b'{"x":"' + b"a" * 1000 + b'"},'
        chunk = row * (64 * 1024 // len(row))
        sent = 0
        while sent < self.huge_bytes:
            await send(_body(chunk, more=True))
            sent += len(chunk)
            self.huge_sent = sent
            # Once the client has gone, uvicorn's send returns at once: let the cancel land.
            await anyio.lowlevel.checkpoint()
        await send(_body(b'{"x":""}]}', more=False))


def rewrite(mode: str, content: bytes) -> bytes:
    """The emulator's JSON answer, made wrong the way `mode` says."""
    if mode == "pass":
        return content
    answer = json.loads(content)
    if mode == "text_in_numbers":
        numeric = [c["name"] for c in answer["meta"] if c["type"] != "String"]
        for column in answer["meta"]:
            column["type"] = "String"
        for row in answer["data"]:
            row.update(dict.fromkeys(numeric, "lots"))
    elif mode == "missing_column":
        gone = answer["meta"].pop()["name"]
        for row in answer["data"]:
            row.pop(gone, None)
    else:
        raise AssertionError(f"unknown mode {mode!r}")
    return json.dumps(answer).encode()


async def _start(send: Send, status: int, length: int | None) -> None:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})


def _body(chunk: bytes, *, more: bool) -> Message:
    return {"type": "http.response.body", "body": chunk, "more_body": more}


async def _respond(send: Send, status: int, content: bytes) -> None:
    await _start(send, status, len(content))
    await send(_body(content, more=False))


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Run a FaultProxy to `upstream` on 127.0.0.1 for the duration of the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    host, port = listener.getsockname()
    proxy = FaultProxy(upstream, f"http://{host}:{port}/client/v4")
    config = uvicorn.Config(
        proxy, log_level="critical", access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        # The probe waits in the listen backlog until the server accepts: no polling sleep.
        with httpx.Client(timeout=10) as http:
            http.get(f"http://{host}:{port}/health")
        yield proxy
    finally:
        proxy.mode = "pass"
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
