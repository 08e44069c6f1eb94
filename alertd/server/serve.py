"""Serve the app with uvicorn on the daemon's own event loop, beside its other tasks."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Generator

import anyio
import structlog
import uvicorn
from anyio.abc import TaskStatus
from fastapi import FastAPI

from alertd.server.address import url_of
from alertd.server.parts import LoopLag

log = structlog.get_logger(__name__)

LAG_PROBE_SECONDS = 1.0
# At a stop, requests in flight get this long to finish.
GRACE_SECONDS = 5


class _Server(uvicorn.Server):
    """uvicorn minus its signal handling: the daemon owns SIGTERM, SIGINT and SIGHUP."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = anyio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class HttpServer:
    """A bound socket and the app to serve on it; `run` serves until `stop`."""

    def __init__(self, app: FastAPI, host: str, port: int, lag: LoopLag) -> None:
        # Bound now, so a port in use stops the daemon at start with a clear message
        # (OSError), and port 0 has its real number before anyone asks.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(128)
        except OSError:
            self._socket.close()
            raise
        self.host = host
        self.port = self._socket.getsockname()[1]
        self._lag = lag
        self._server = _Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )

    @property
    def url(self) -> str:
        return url_of(self.host, self.port)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until `stop`, then finish the requests in flight; reports started once
        connections are accepted (start it with `task_group.start`)."""
        with self._socket:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._watch_loop)

                async def serve() -> None:
                    try:
                        await self._server.serve([self._socket])
                    finally:
                        tasks.cancel_scope.cancel()

                tasks.start_soon(serve)
                await self._server.listening.wait()
                log.info("http.started", url=self.url)
                task_status.started()

    def close(self) -> None:
        """Release the socket of a server that will not `run` after all."""
        self._socket.close()

    def stop(self) -> None:
        self._server.should_exit = True

    async def _watch_loop(self) -> None:
        """How late a timer fires: a busy event loop answers every request that late."""
        while True:
            before = anyio.current_time()
            await anyio.sleep(LAG_PROBE_SECONDS)
            self._lag.seconds = max(0.0, anyio.current_time() - before - LAG_PROBE_SECONDS)
