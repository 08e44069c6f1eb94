"""SIGTERM to `alertd run` while a tick is in flight, and while a notification is being
sent: the tick finishes and is committed, the send finishes and is recorded, exit 0."""

from __future__ import annotations

import http.server
import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from alertd.emulator.server import RunningEmulator
from alertd.model import AlertState, Delivery, OutboxEntry, Status
from alertd.store.sqlite import SqliteStore
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries
from tests.sources.fault_proxy import fault_proxy

WAIT_SECONDS = 60.0


class Lines:
    """A process's stderr lines, read in a thread, waited for with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        stream = process.stderr
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(
            target=lambda: [self._queue.put(line) for line in stream], daemon=True
        )
        self._reader.start()

    def wait_for(self, event: str) -> dict[str, object]:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            for line in self.seen:
                if f'"event": "{event}"' in line:
                    return dict(json.loads(line))
            left = deadline - time.monotonic()
            assert left > 0, f"no {event} within {WAIT_SECONDS}s:\n{''.join(self.seen)[-3000:]}"
            try:
                self.seen.append(self._queue.get(timeout=left))
            except queue.Empty:
                continue

    def rest(self) -> list[str]:
        self._reader.join(timeout=WAIT_SECONDS)
        while not self._queue.empty():
            self.seen.append(self._queue.get_nowait())
        return [json.loads(line)["event"] for line in self.seen if line.startswith("{")]


def stopped(process: subprocess.Popen[str]) -> int:
    try:
        return process.wait(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_SECONDS)


def test_sigterm_during_a_tick_finishes_and_commits_it(tmp_path: Path, ae: RunningEmulator) -> None:
    write_recent_queries(ae)
    rules = rules_folder(tmp_path / "rules")
    with fault_proxy(ae.root_url) as proxy:
        # Every answer arrives a byte at a time: the first tick is in flight for seconds.
        proxy.mode, proxy.trickle_seconds = "trickle", 0.005
        process = start_daemon(tmp_path, ae, rules, env={"CLOUDFLARE_API_BASE": proxy.base_url})
        lines = Lines(process)
        lines.wait_for("daemon.started")
        deadline = time.monotonic() + WAIT_SECONDS
        while not proxy.answered["trickle"]:  # the proxy counts in its own thread
            assert time.monotonic() < deadline, "no query reached the proxy"
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert stopped(process) == 0
    events = lines.rest()
    stopping = events.index("daemon.stopping")
    assert "tick.done" in events[stopping:], events
    assert events[-1] == "daemon.stopped"
    states = anyio.run(load_states, tmp_path / "state" / "alertd.db")
    assert [s.status for s in states] == [Status.FIRING]


async def load_states(path: Path) -> list[AlertState]:
    store = await SqliteStore.open(path)
    try:
        return list((await store.load()).values())
    finally:
        await store.aclose()


class HeldWebhook:
    """A webhook receiver that holds each request until released, then answers 200."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        self.bodies: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(body)
                outer.received.set()
                outer.release.wait(WAIT_SECONDS)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def webhook() -> Iterator[HeldWebhook]:
    hook = HeldWebhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        hook.server.shutdown()
        hook.server.server_close()
        thread.join(timeout=WAIT_SECONDS)


def test_sigterm_during_delivery_finishes_the_send_and_records_it(
    tmp_path: Path, ae: RunningEmulator, webhook: HeldWebhook
) -> None:
    write_recent_queries(ae)
    notify = f"""\
receivers:
  - name: hook
    webhook: {{url: "{webhook.url}"}}
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
"""
    rules = rules_folder(tmp_path / "rules", notify=notify)
    process = start_daemon(tmp_path, ae, rules)
    lines = Lines(process)
    assert webhook.received.wait(WAIT_SECONDS), "the notification never reached the webhook"
    process.send_signal(signal.SIGTERM)
    lines.wait_for("daemon.stopping")  # the daemon is stopping while the send is held
    webhook.release.set()
    assert stopped(process) == 0
    assert lines.rest()[-1] == "daemon.stopped"
    assert len(webhook.bodies) == 1
    assert json.loads(webhook.bodies[0])["status"] == "firing"
    outbox = anyio.run(load_outbox, tmp_path / "state" / "alertd.db")
    assert [(e.status, e.attempts) for e in outbox] == [(Delivery.DELIVERED, 1)]


async def load_outbox(path: Path) -> list[OutboxEntry]:
    store = await SqliteStore.open(path)
    try:
        return list(await store.outbox())
    finally:
        await store.aclose()


class RefusingWebhook:
    """A webhook receiver that answers every request 503 with Retry-After: 1, and notes
    which requests came after the test saw the daemon stopping."""

    def __init__(self) -> None:
        self.first = threading.Event()
        self.stopping = threading.Event()
        self.before = 0
        self.after = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if outer.stopping.is_set():
                    outer.after += 1
                else:
                    outer.before += 1
                outer.first.set()
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.mark.parametrize("drain", [0, 5])
def test_the_drain_after_sigterm_lasts_as_configured_and_keeps_what_is_left(
    tmp_path: Path, ae: RunningEmulator, drain: int
) -> None:
    webhook = RefusingWebhook()
    thread = threading.Thread(target=webhook.server.serve_forever, daemon=True)
    thread.start()
    write_recent_queries(ae)
    notify = f"""\
receivers:
  - name: hook
    webhook: {{url: "{webhook.url}"}}
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
"""
    rules = rules_folder(tmp_path / "rules", notify=notify)
    process = start_daemon(tmp_path, ae, rules, env={"ALERTD_SHUTDOWN_DRAIN_SECONDS": str(drain)})
    lines = Lines(process)
    try:
        assert webhook.first.wait(WAIT_SECONDS), "the notification never reached the webhook"
        process.send_signal(signal.SIGTERM)
        lines.wait_for("daemon.stopping")
        webhook.stopping.set()
        assert stopped(process) == 0
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()
        thread.join(timeout=WAIT_SECONDS)
    if drain == 0:
        assert webhook.after == 0  # no drain: nothing more is tried
    else:
        assert webhook.after >= 1  # the drain tried again, then gave up at its bound
    # What could not be sent is kept for the next start, with every attempt counted.
    [entry] = anyio.run(load_outbox, tmp_path / "state" / "alertd.db")
    assert entry.status is Delivery.PENDING
    assert entry.attempts == webhook.before + webhook.after
