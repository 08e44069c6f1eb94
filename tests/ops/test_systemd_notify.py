"""`alertd run` under a service manager: READY=1, WATCHDOG=1 and STOPPING=1 arrive on a
real NOTIFY_SOCKET datagram socket."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.systemd import ServiceManager
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries

WAIT_SECONDS = 60.0


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    with sock:
        yield sock, str(path)


def receive_until(sock: socket.socket, wanted: str, seen: list[str]) -> list[str]:
    """Messages received until one holds `wanted`, within the deadline."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not any(wanted in message.split("\n") for message in seen):
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted} within {WAIT_SECONDS}s; got {seen}"
        sock.settimeout(left)
        seen.append(sock.recv(4096).decode())
    return seen


def test_run_reports_ready_pings_the_watchdog_and_reports_stopping(
    tmp_path: Path, ae: RunningEmulator, listener: tuple[socket.socket, str]
) -> None:
    sock, address = listener
    write_recent_queries(ae)
    rules = rules_folder(tmp_path / "rules")
    process = start_daemon(
        tmp_path,
        ae,
        rules,
        # Every 0.2 s; WATCHDOG_PID names no other process, so this one takes it.
        env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"},
    )
    try:
        seen = receive_until(sock, "READY=1", [])
        ready = next(m for m in seen if "READY=1" in m.split("\n"))
        assert "STATUS=evaluating 1 rules" in ready.split("\n")
        # Nothing but the watchdog speaks between ready and a reload.
        pings = [sock.recv(4096).decode() for _ in range(3)]
        assert pings == ["WATCHDOG=1"] * 3
        # A reload is announced with the monotonic time, and readiness follows it.
        process.send_signal(signal.SIGHUP)
        reloading = receive_until(sock, "RELOADING=1", [])[-1].split("\n")
        stamp = next(line for line in reloading if line.startswith("MONOTONIC_USEC="))
        assert 0 < int(stamp.removeprefix("MONOTONIC_USEC=")) <= time.monotonic_ns() // 1000
        again = receive_until(sock, "READY=1", [])[-1].split("\n")
        assert "STATUS=evaluating 1 rules" in again
        process.send_signal(signal.SIGTERM)
        tail = receive_until(sock, "STOPPING=1", [])
        assert any(m.startswith("STOPPING=1") for m in tail)
        _, err = process.communicate(timeout=WAIT_SECONDS)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=WAIT_SECONDS)


def test_no_watchdog_for_another_process() -> None:
    manager = ServiceManager.from_environment(
        {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    )
    assert manager.watchdog_seconds is None
    own = ServiceManager.from_environment(
        {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    )
    assert own.watchdog_seconds == 1.0


def test_abstract_socket_names_are_reached() -> None:
    name = f"alertd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(WAIT_SECONDS)
        ServiceManager(f"@{name}").notify("READY=1", "STATUS=up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_an_unreachable_socket_is_not_an_error(tmp_path: Path) -> None:
    manager = ServiceManager(str(tmp_path / "nobody-listens"))
    manager.notify("READY=1")
    manager.notify("STOPPING=1")


def test_outside_systemd_nothing_is_sent() -> None:
    manager = ServiceManager.from_environment({})
    assert manager.address is None
    manager.notify("READY=1")
