"""`alertd run` as a process: starts, pages on the console, stops on SIGTERM with exit 0,
and resumes from its state without paging again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

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


def start(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    env = {
        **os.environ,
        "CLOUDFLARE_API_BASE": ae.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ae.account_id,
        "CLOUDFLARE_API_TOKEN": ae.token,
        "ALERTD_STATE_DIR": str(tmp_path / "state"),
        "ALERTD_EVALUATION_DELAY_SECONDS": "0",
        "ALERTD_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "run", "--transitions", "--rules", str(rules)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    return process, lines


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


@pytest.fixture
def rules(tmp_path: Path, ae: RunningEmulator) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (folder / "live.yaml").write_text(RULE)
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


def test_run_pages_stops_cleanly_and_resumes_without_paging_again(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    process, lines = start(tmp_path, ae, rules)
    first = lines.get(timeout=60)
    assert "FIRING" in first
    assert 'QueriesSeen {table="users"}' in first
    code, err = stop(process)
    assert code == 0, err
    assert '"event": "daemon.stopped"' in err
    state_file = tmp_path / "state" / "alertd.db"
    assert state_file.exists()
    anyio.run(add_old_transition, state_file)

    process, lines = start(tmp_path, ae, rules)
    # Let the restarted daemon tick a few times: the alert is restored, not paged again.
    ticks_seen, pruned = 0, []
    while ticks_seen < 3 or not pruned:
        assert process.stderr is not None
        line = process.stderr.readline()
        ticks_seen += '"event": "tick.done"' in line
        if '"event": "store.pruned"' in line:
            pruned.append(json.loads(line))
    code, err = stop(process)
    assert code == 0, err
    assert lines.empty()
    assert pruned[0]["transitions"] == 1  # the old one; this run's first page stays


async def add_old_transition(state_file: Path) -> None:
    store = await SqliteStore.open(state_file)
    try:
        (recent,) = await store.transitions()
        old = dataclasses.replace(recent, at=recent.at - dt.timedelta(days=30))
        await store.commit(Commit(at=old.at, group="live", transitions=(old,)))
    finally:
        await store.aclose()


def test_run_refuses_bad_rules_with_the_check_messages(tmp_path: Path, ae: RunningEmulator) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (folder / "r.yaml").write_text(RULE.replace("count()", "p95(table)"))
    process, _ = start(tmp_path, ae, folder)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"{folder}/r.yaml:6:16: rules[0].value: p95() needs a number" in err
