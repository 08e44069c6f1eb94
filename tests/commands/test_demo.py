"""`alertd demo` as a process: its rules come from ALERTD_RULES_DIR, and Ctrl-C is a stop,
not a finish."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from alertd.cli import main

RULES = Path(__file__).parents[2] / "rules"


def start_demo(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "demo", *args],
        cwd=cwd,
        env={**os.environ, "ALERTD_LOG_FORMAT": "json", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_demo_reads_its_rules_from_alertd_rules_dir(tmp_path: Path) -> None:
    rules = tmp_path / "mine"
    rules.mkdir()
    (rules / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (rules / "r.yaml").write_text(
        "group: g\nrules:\n  - alert: A\n    dataset: pitchey_database_metrics\n"
        '    value: p95(table)\n    thresholds: {critical: "> 1"}\n'
    )
    demo = start_demo(tmp_path, {"ALERTD_RULES_DIR": str(rules)})
    _, err = demo.communicate(timeout=120)
    assert demo.returncode == 1
    assert f"{rules}/r.yaml:5:16: rules[0].value: p95() needs a number" in err


def test_an_interrupted_demo_says_it_stopped_and_exits_130(tmp_path: Path) -> None:
    shutil.copytree(RULES, tmp_path / "rules")
    demo = start_demo(tmp_path, {"ALERTD_LOG_LEVEL": "info"}, "--http", "127.0.0.1:0")
    assert demo.stdout is not None
    assert demo.stderr is not None
    try:
        # Port 0 is shown as the port the page is served on, not as 0.
        first = demo.stdout.readline()
        found = re.fullmatch(r"alertd demo: status page at (http://127\.0\.0\.1:(\d+)/)\n", first)
        assert found, first
        assert found[2] != "0", first
        # A tick is logged only after the daemon listens for signals.
        while '"event": "tick.done"' not in (line := demo.stderr.readline()):
            assert line, "the demo ended before its daemon started"
        assert httpx.get(found[1], timeout=10).status_code == 200
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, err
    assert "demo stopped before the end of its incidents." in out
    assert "demo finished." not in out


def test_a_speed_that_is_not_positive_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "0"]) == 2
    assert capsys.readouterr().err == "alertd demo: --speed must be positive, not 0\n"
