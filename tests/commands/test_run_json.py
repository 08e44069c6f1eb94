"""`alertd run --json`: everything on stdout is a JSON line, transitions and notifications."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator

RULES = Path(__file__).parents[2] / "rules"
RULE = """\
group: live
interval: 1s
rules:
  - alert: QueriesSeen
    dataset: pitchey_database_metrics
    value: count()
    by: [table]
    window: 10m
    thresholds: {critical: "> 0"}
"""
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
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (folder / "live.yaml").write_text(RULE)
    (folder / "notify.yaml").write_text(NOTIFY)
    ae.reset()
    now = SystemClock().now()
    ae.write(
        "pitchey_database_metrics",
        [
            {
                "timestamp": int((now - dt.timedelta(seconds=s)).timestamp() * 1000),
                "indexes": ["users"],
                "blobs": ["SELECT", "users", "success", "", "/api", "u"],
                "doubles": [10.0, 1.0, 0.0],
            }
            for s in range(5, 65)
        ],
    )
    return folder


def run_json(tmp_path: Path, ae: RunningEmulator, rules: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CLOUDFLARE_API_BASE": ae.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ae.account_id,
        "CLOUDFLARE_API_TOKEN": ae.token,
        "ALERTD_STATE_DIR": str(tmp_path / "state"),
        "ALERTD_EVALUATION_DELAY_SECONDS": "0",
        "ALERTD_LOG_FORMAT": "json",
    }
    command = ["run", "--json", "--transitions", "--rules", str(rules)]
    return subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_json_prints_transitions_and_console_notifications_as_json_lines(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    process = run_json(tmp_path, ae, rules)
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
