"""Runs the emulator on loopback: blocking for the command, in a background thread for tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import httpx
import structlog
import uvicorn
from starlette.applications import Starlette

from alertd.clock import Clock
from alertd.emulator.app import create_app
from alertd.emulator.ingest import IngestDelay
from alertd.emulator.storage import ChdbStorage
from alertd.errors import AlertdError

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"  # AE account IDs are 32 characters
DEFAULT_TOKEN = "emulator-token"
STARTUP_TIMEOUT_SECONDS = 30.0

log = structlog.get_logger(__name__)


class StartupError(AlertdError):
    """The emulator cannot start: it cannot listen where asked or keep its data there."""


@dataclass(frozen=True)
class Written:
    """What the emulator recorded from one write: AE drops points with several indexes."""

    written: int
    dropped: int


@dataclass
class RunningEmulator:
    """A live emulator: where to point an AE client, and helpers to feed it data."""

    base_url: str  # e.g. http://127.0.0.1:PORT/client/v4, as https://api.cloudflare.com/...
    account_id: str
    token: str
    _http: httpx.Client = field(repr=False)

    @property
    def root_url(self) -> str:
        """Where the emulator's own endpoints live: /emulator/write, /reset, /health."""
        return self.base_url.removesuffix("/client/v4")

    @property
    def sql_url(self) -> str:
        """The full address of the SQL endpoint."""
        return f"{self.base_url}/accounts/{self.account_id}/analytics_engine/sql"

    def write(self, dataset: str, points: Iterable[Mapping[str, object]]) -> Written:
        """Write points shaped as in alertd.emulator.points; datetimes may stand for times."""
        response = self._http.post(
            f"/emulator/write/{dataset}", json=[_jsonable(p) for p in points]
        )
        response.raise_for_status()
        answer = response.json()
        return Written(written=answer["written"], dropped=answer["dropped"])

    def query(self, sql: str) -> httpx.Response:
        """POST `sql` to the SQL endpoint with the right token; the answer is not checked."""
        return self._http.post(
            self.sql_url,
            content=sql.encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "text/plain"},
        )

    def reset(self) -> None:
        """Drop every dataset."""
        self._http.post("/emulator/reset").raise_for_status()


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    data_dir: str | os.PathLike[str] | None = None,
    token: str | None = None,
    *,
    clock: Clock | None = None,
    ingest_delay: IngestDelay | None = None,
) -> None:
    """Serve the emulator until SIGINT or SIGTERM, then stop cleanly; `host` must be loopback.

    Raises StartupError, whose message is one line, when it cannot listen or keep its data.
    """
    with _stop_signals() as stop:
        listener = _listen(host, port)
        url = f"{_root(listener)}/client/v4"
        try:
            with _storage(data_dir) as storage:
                server = uvicorn.Server(
                    _config(create_app(storage, token, clock=clock, ingest_delay=ingest_delay))
                )
                stop.watch(server)
                log.info("emulator.started", url=url, account_id=ACCOUNT_ID)
                server.run(sockets=[listener])
        finally:
            listener.close()
    log.info("emulator.stopped", url=url, signal=stop.name)


@contextmanager
def running_emulator(
    token: str | None = DEFAULT_TOKEN,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    ingest_delay: IngestDelay | None = None,
) -> Iterator[RunningEmulator]:
    """Run the emulator on 127.0.0.1 on a free port for the duration of the block."""
    listener = _listen("127.0.0.1", 0)
    url = f"{_root(listener)}/client/v4"
    try:
        with (
            ChdbStorage(data_dir) as storage,
            httpx.Client(base_url=_root(listener), timeout=30) as http,
        ):
            server = uvicorn.Server(
                _config(create_app(storage, token, clock=clock, ingest_delay=ingest_delay))
            )
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [listener]}, name="ae-emulator", daemon=True
            )
            thread.start()
            try:
                _wait_until_healthy(http, thread)
                log.info("emulator.started", url=url, account_id=ACCOUNT_ID)
                yield RunningEmulator(url, ACCOUNT_ID, token or "any-token", http)
            finally:
                server.should_exit = True
                thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
    finally:
        listener.close()
    log.info("emulator.stopped", url=url)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket: connections wait in its backlog until the server accepts them."""
    _check_loopback(host)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not 0 <= port <= 65535:
        raise StartupError(f"cannot listen on {address}: a port is between 0 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise StartupError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    return listener


def _check_loopback(host: str) -> None:
    # Names other than localhost are refused rather than resolved: a name can change meaning.
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise StartupError(
            f"the emulator only listens on loopback (127.0.0.1, ::1 or localhost), not {host}"
        )


def _storage(data_dir: str | os.PathLike[str] | None) -> ChdbStorage:
    """The storage, or a StartupError naming the data directory it cannot use."""
    where = os.fspath(data_dir) if data_dir is not None else "a temporary directory"
    # Checked first: chdb's engine would refuse a second directory before looking at this one.
    if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise StartupError(f"cannot keep data in {where}: it is not a directory")
    try:
        return ChdbStorage(data_dir)
    except OSError as exc:
        raise StartupError(f"cannot keep data in {where}: {exc.strerror or exc}") from exc


class _StopSignals:
    """SIGINT and SIGTERM as a request to stop, whether uvicorn is serving yet or not.

    uvicorn handles both while it serves, and raises the signal again once it has stopped;
    with these handlers in place that second delivery lands here instead of ending the
    process with a traceback (SIGINT) or status 143 (SIGTERM).
    """

    def __init__(self) -> None:
        self.received: list[signal.Signals] = []
        self._server: uvicorn.Server | None = None

    @property
    def name(self) -> str | None:
        return self.received[0].name if self.received else None

    def watch(self, server: uvicorn.Server) -> None:
        self._server = server
        if self.received:  # a signal that came while starting still stops the server
            server.should_exit = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum))
        if self._server is not None:
            self._server.should_exit = True


@contextmanager
def _stop_signals() -> Iterator[_StopSignals]:
    stop = _StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # only the main thread may handle signals; its owner stops the server
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _root(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")


def _wait_until_healthy(http: httpx.Client, thread: threading.Thread) -> None:
    # Each probe waits in the socket backlog until the server is accepting, so no sleeping.
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the emulator stopped while starting")
        try:
            if http.get("/emulator/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            thread.join(timeout=0.05)  # back off; returns at once if the server thread died
    raise RuntimeError(f"the emulator did not answer within {STARTUP_TIMEOUT_SECONDS} s")


def _jsonable(point: Mapping[str, object]) -> dict[str, object]:
    stamp = point.get("timestamp")
    if isinstance(stamp, dt.datetime):
        return {**point, "timestamp": stamp.isoformat()}
    return dict(point)
