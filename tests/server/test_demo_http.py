"""`alertd demo` says first where its pages are, and serves them while it plays."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

RULES = Path(__file__).parents[2] / "rules"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_prints_its_address_first_and_serves_there(tmp_path: Path) -> None:
    shutil.copytree(RULES, tmp_path / "rules")
    address = f"127.0.0.1:{free_port()}"
    demo = subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "demo", "--http", address],
        cwd=tmp_path,
        env={**os.environ, "ALERTD_LOG_FORMAT": "json", "ALERTD_LOG_LEVEL": "info"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stderr is not None
    try:
        while '"event": "tick.done"' not in (line := demo.stderr.readline()):
            assert line, "the demo ended before its daemon started"
        healthy = httpx.get(f"http://{address}/healthz", timeout=10)
        assert healthy.json() == {"status": "ok"}
        rules = httpx.get(f"http://{address}/api/v1/rules", timeout=10).json()
        assert rules["data"]["groups"]
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, err
    assert out.splitlines()[0] == f"alertd demo: status page at http://{address}/"
