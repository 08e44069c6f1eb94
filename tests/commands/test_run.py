"""`alertd run` as a process: starts, pages on the console, stops on SIGTERM with exit 0,
and resumes from its state without paging again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import queue
import re
import signal
import subprocess
import threading
from pathlib import Path

import anyio
import pytest

from alertd.emulator.server import RunningEmulator
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore
from tests.commands.live_daemon import (
    QUERIES_SEEN,
    rules_folder,
    start_daemon,
    write_recent_queries,
)

RULES = Path(__file__).parents[2] / "rules"
RULE = QUERIES_SEEN


def start(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    process = start_daemon(tmp_path, ae, rules, "--transitions")
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
    write_recent_queries(ae)
    return rules_folder(tmp_path / "rules", RULE)


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


def test_sighup_reloads_rules_resolving_a_removed_rule_and_keeps_running_on_bad_ones(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    process, lines = start(tmp_path, ae, rules)
    assert "FIRING" in lines.get(timeout=60)
    (rules / "live.yaml").write_text(RULE.replace("alert: QueriesSeen", "alert: QueriesCounted"))
    process.send_signal(signal.SIGHUP)
    changes = [transition_line(lines), transition_line(lines)]
    assert any("RESOLVED" in c and "QueriesSeen" in c for c in changes), changes
    assert any("FIRING" in c and "QueriesCounted" in c for c in changes), changes

    (rules / "live.yaml").write_text(RULE.replace("window: 10m", "window: soon"))
    process.send_signal(signal.SIGHUP)
    assert process.stderr is not None
    while '"event": "rules.reload_failed"' not in (line := process.stderr.readline()):
        assert line, "the daemon ended instead of keeping its rules"
    assert "live.yaml" in line
    code, err = stop(process)
    assert code == 0, err
    left = [line for line in drained(lines) if TRANSITION.match(line)]
    assert left == []  # the good rules went on: nothing resolved or paged again


def test_a_change_in_the_rules_folder_reloads_without_a_signal(
    tmp_path: Path, ae: RunningEmulator, rules: Path
) -> None:
    process, lines = start(tmp_path, ae, rules)
    assert "FIRING" in lines.get(timeout=60)
    (rules / "live.yaml").write_text(RULE.replace("alert: QueriesSeen", "alert: QueriesCounted"))
    changes = [transition_line(lines), transition_line(lines)]
    assert any("RESOLVED" in c and "QueriesSeen" in c for c in changes), changes
    assert any("FIRING" in c and "QueriesCounted" in c for c in changes), changes
    code, err = stop(process)
    assert code == 0, err
    assert '"event": "rules.changed"' in err


TRANSITION = re.compile(r"^\d{4}-\d\d-\d\d ")  # a transition, not a notification


def transition_line(lines: queue.Queue[str]) -> str:
    while not TRANSITION.match(line := lines.get(timeout=60)):
        pass
    return line


def drained(lines: queue.Queue[str]) -> list[str]:
    found = []
    while not lines.empty():
        found.append(lines.get())
    return found
