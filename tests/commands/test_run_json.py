"""`alertd run --json`: everything on stdout is a JSON line, transitions and notifications."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from alertd.emulator.server import RunningEmulator
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries

# The file asks for text; `--json` wins, so stdout stays one kind of line.
NOTIFY = """\
receivers:
  - name: console
    console: {format: text}
route:
  receiver: console
  group_wait: 0s
"""


@pytest.fixture
def rules(tmp_path: Path, ae: RunningEmulator) -> Path:
    write_recent_queries(ae)
    return rules_folder(tmp_path / "rules", notify=NOTIFY)


def test_run_json_prints_transitions_and_console_notifications_as_json_lines(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    process = start_daemon(tmp_path, ae, rules, "--json", "--transitions")
    assert process.stdout is not None
    transitions, notifications = [], []
    try:
        while not (transitions and notifications):
            line = process.stdout.readline()
            assert line, "the daemon ended early"
            printed = json.loads(line)  # a text line fails here
            (notifications if "receiver" in printed else transitions).append(printed)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert transitions[0]["alert"] == "QueriesSeen"
    assert transitions[0]["change"] == "firing"
    assert notifications[0]["receiver"] == "console"
    assert notifications[0]["kind"] == "firing"
    assert notifications[0]["alerts"][0]["labels"]["table"] == "users"
