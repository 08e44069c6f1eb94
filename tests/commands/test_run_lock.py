"""Two `alertd run` processes on one state directory: the second is refused in one line
naming the first; a killed daemon leaves no lock behind."""

from __future__ import annotations

import queue
import signal
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


class Daemon:
    """An `alertd run` process whose output is read on threads, so it never blocks."""

    def __init__(self, tmp_path: Path, ae: RunningEmulator, rules: Path) -> None:
        self.process = start_daemon(tmp_path, ae, rules)
        self.pid = self.process.pid
        self.logs: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, None), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.logs), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str] | None, lines: queue.Queue[str] | None) -> None:
        assert stream is not None
        for line in stream:
            if lines is not None:
                self.err.append(line)
                lines.put(line)

    def wait_running(self) -> None:
        """Wait (with a deadline) for the first tick: by then it has its store and handles
        SIGTERM."""
        while '"event": "tick.done"' not in self.logs.get(timeout=DEADLINE_SECONDS):
            pass

    def end(self, how: signal.Signals | None = None) -> tuple[int, str]:
        """Send `how` (if any), wait for the exit; its code and everything on stderr."""
        if how is not None and self.process.poll() is None:
            self.process.send_signal(how)
        try:
            code = self.process.wait(timeout=DEADLINE_SECONDS)
        finally:
            self.process.kill()  # only if it did not end: a failed test leaves no daemon
        for reader in self._readers:
            reader.join(timeout=DEADLINE_SECONDS)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code, "".join(self.err)


def test_a_second_daemon_on_the_same_state_directory_is_refused_naming_the_first(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    first = Daemon(tmp_path, ae, rules)
    try:
        first.wait_running()
        code, err = Daemon(tmp_path, ae, rules).end()

        assert code == 1, err
        state = tmp_path / "state"
        refusals = [line for line in err.splitlines() if not line.startswith("{")]
        assert refusals == [
            f"another alertd (pid {first.pid}) is running on the state directory {state}"
            f" (it holds {state / LOCK_NAME}): only one daemon may use a state directory"
        ]
        assert first.process.poll() is None
    finally:
        # SIGKILL: nothing of the first daemon's runs to release its lock.
        first.end(signal.SIGKILL)

    third = Daemon(tmp_path, ae, rules)
    try:
        third.wait_running()
        assert (tmp_path / "state" / LOCK_NAME).read_text() == f"{third.pid}\n"
    finally:
        code, err = third.end(signal.SIGTERM)
    assert code == 0, err
