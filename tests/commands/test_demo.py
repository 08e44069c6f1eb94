"""`alertd demo` as a process: its rules come from ALERTD_RULES_DIR, and Ctrl-C is a stop,
not a finish."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.cli import main

RULES = Path(__file__).parents[2] / "rules"


def start_demo(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "demo"],
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
    demo = start_demo(tmp_path, {"ALERTD_LOG_LEVEL": "info"})
    assert demo.stderr is not None
    try:
        # A tick is logged only after the daemon listens for signals.
        while '"event": "tick.done"' not in (line := demo.stderr.readline()):
            assert line, "the demo ended before its daemon started"
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, err
    assert "demo stopped before the end of its incidents." in out
    assert "demo finished." not in out


def test_a_speed_that_is_not_positive_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "0"]) == 2
    assert capsys.readouterr().err == "alertd demo: --speed must be positive, not 0\n"
