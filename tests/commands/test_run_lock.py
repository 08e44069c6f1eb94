"""Two `alertd run` processes on one state directory: the second is refused in one line
naming the first; a killed daemon leaves no lock behind."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.store.state_lock import LOCK_NAME
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries

DEADLINE_SECONDS = 60


@pytest.fixture
def rules(tmp_path: Path, ae: RunningEmulator) -> Path:
    write_recent_queries(ae)
    return rules_folder(tmp_path / "rules")


def lines_of(stream: IO[str] | None) -> queue.Queue[str]:
    """The stream's lines as they come, read on a thread so the process never blocks."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_running(process: subprocess.Popen[str]) -> None:
    """Wait (with a deadline) for the daemon's first tick: by then it has its store and
    handles SIGTERM."""
    logs = lines_of(process.stderr)
    while '"event": "tick.done"' not in logs.get(timeout=DEADLINE_SECONDS):
        pass


def test_a_second_daemon_on_the_same_state_directory_is_refused_naming_the_first(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    first = start_daemon(tmp_path, ae, rules)
    try:
        wait_running(first)
        second = start_daemon(tmp_path, ae, rules)
        try:
            _, err = second.communicate(timeout=DEADLINE_SECONDS)
        finally:
            second.kill()  # only if it did not end: a test that fails leaves no daemon

        assert second.returncode == 1, err
        state = tmp_path / "state"
        refusals = [line for line in err.splitlines() if not line.startswith("{")]
        assert refusals == [
            f"another alertd (pid {first.pid}) is running on the state directory {state}"
            f" (it holds {state / LOCK_NAME}): only one daemon may use a state directory"
        ]
        assert first.poll() is None
    finally:
        first.kill()  # SIGKILL: nothing of the first daemon's runs to release its lock
        first.communicate(timeout=DEADLINE_SECONDS)

    third = start_daemon(tmp_path, ae, rules)
    try:
        wait_running(third)
        assert (tmp_path / "state" / LOCK_NAME).read_text() == f"{third.pid}\n"
    finally:
        third.send_signal(signal.SIGTERM)
        _, err = third.communicate(timeout=DEADLINE_SECONDS)
    assert third.returncode == 0, err
