"""`alertd emulator` stops cleanly on SIGINT and SIGTERM: a stop log line and exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[2]
WATCHDOG_SECONDS = 60.0  # kills a hung emulator so the test fails instead of waiting forever


@pytest.fixture
def emulator_process() -> Iterator[subprocess.Popen[str]]:
    """`alertd emulator` on a free loopback port, killed at the end if still running."""
    env = {**os.environ, "ALERTD_LOG_LEVEL": "info", "ALERTD_LOG_FORMAT": "json"}
    command = [sys.executable, "-m", "alertd.cli", "emulator", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(WATCHDOG_SECONDS, process.kill)
    watchdog.start()
    try:
        yield process
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.communicate()


def started_url(process: subprocess.Popen[str]) -> str:
    """The URL from the `emulator.started` line; reading blocks until it is written."""
    assert process.stderr is not None
    for line in process.stderr:
        if "emulator.started" in line:
            return str(json.loads(line)["url"])
    raise AssertionError(f"the emulator ended without starting (exit {process.wait()})")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_emulator_with_a_log_line_and_exit_0(
    sig: signal.Signals, emulator_process: subprocess.Popen[str]
) -> None:
    url = started_url(emulator_process)
    # Once it answers, uvicorn is serving and handles the signal itself first.
    health = httpx.get(f"{url.removesuffix('/client/v4')}/emulator/health", timeout=30)
    assert health.status_code == 200

    emulator_process.send_signal(sig)
    _, rest = emulator_process.communicate(timeout=WATCHDOG_SECONDS)

    assert emulator_process.returncode == 0
    assert "Traceback" not in rest
    (stopped,) = [json.loads(line) for line in rest.splitlines() if "emulator.stopped" in line]
    assert (stopped["url"], stopped["signal"]) == (url, sig.name)
