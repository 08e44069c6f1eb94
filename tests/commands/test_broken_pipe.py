"""A reader that leaves early (`alertd … | head -1`) ends alertd quietly with 141."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alertd.emulator.server import RunningEmulator

RULES = Path(__file__).parents[2] / "rules"
POINT = {"timestamp": "2026-11-28T10:00:00Z", "indexes": ["users"], "doubles": [1.0]}


def run_into_closed_pipe(
    command: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is already gone, as after `head` has exited."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "alertd.cli", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def test_notify_test_into_a_closed_pipe_exits_141_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    done = run_into_closed_pipe(["notify-test", "console", "--rules", str(tmp_path)], {})
    assert done.returncode == 141
    assert done.stderr == ""


def test_query_into_a_closed_pipe_exits_141_without_a_traceback(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write("pitchey_database_metrics", [POINT])
    env = {
        "CLOUDFLARE_API_BASE": ae.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ae.account_id,
        "CLOUDFLARE_API_TOKEN": ae.token,
    }
    command = ["query", "count()", "--dataset", "pitchey_database_metrics", "--rules", str(RULES)]
    done = run_into_closed_pipe([*command, "--at", "2020-01-01T00:00Z"], env)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
