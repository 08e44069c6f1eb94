"""Peak RSS of `alertd run` watching 100,000 series, against an emulator in another process.

    .venv/bin/python bench/run_rss.py                  # 100,000 series, 3 ticks
    .venv/bin/python bench/run_rss.py --series 10000

Starts `alertd emulator` (its own process: chdb is never loaded by the daemon), writes
one point per table for 10,000 tables, and runs `alertd run` with ten rules grouped by
table (10 × 10,000 series) on a 10 s interval; one table in a hundred breaches, so its
alerts fire. After the third tick it prints the daemon's peak RSS (VmHWM), its last
tick's duration, and stops both processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

import httpx

from alertd.clock import SystemClock

RULES = 10
VALUES = ("p95(duration)", "avg(duration)", "max(duration)")
TOKEN = "bench-token"
DEADLINE_SECONDS = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_rules(folder: Path) -> None:
    folder.mkdir()
    (folder / "datasets.yaml").write_text(
        "datasets:\n  db:\n    blobs: [table, status]\n    doubles: [duration]\n"
    )
    body = "".join(
        f"  - alert: R{i}\n    dataset: db\n    value: {VALUES[i % len(VALUES)]}\n"
        f'    by: [table]\n    thresholds: {{warning: "> 150", critical: "> 200"}}\n'
        for i in range(RULES)
    )
    (folder / "g.yaml").write_text("group: g\ninterval: 10s\nlabels: {team: db}\nrules:\n" + body)


def wait_until(check: object, what: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc")


def stop(process: subprocess.Popen[bytes], deadline_seconds: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=deadline_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=deadline_seconds)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=100_000)
    args = parser.parse_args()
    tables = args.series // RULES
    deadline = time.monotonic() + DEADLINE_SECONDS
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_rules(root / "rules")
        port = free_port()
        alertd = [sys.executable, "-m", "alertd"]
        emulator = subprocess.Popen(
            [*alertd, "emulator", "--port", str(port), "--token", TOKEN],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        daemon: subprocess.Popen[bytes] | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(
                lambda: httpx.get(f"{base}/emulator/health").status_code == 200,
                "the emulator",
                deadline,
            )
            now = SystemClock().now()  # the daemon judges the last minutes of wall time
            points = [
                {
                    "timestamp": int((now - dt.timedelta(seconds=30)).timestamp() * 1000),
                    "blobs": [f"t{i:06d}", "ok"],
                    "doubles": [250.0 if i % 100 == 0 else 100.0 + i % 40],
                }
                for i in range(tables)
            ]
            written = httpx.post(f"{base}/emulator/write/db", json=points, timeout=120).json()
            log = root / "daemon.log"
            env = {
                **os.environ,
                "CLOUDFLARE_API_BASE": f"{base}/client/v4",
                "CLOUDFLARE_ACCOUNT_ID": "bench",
                "CLOUDFLARE_API_TOKEN": TOKEN,
                "ALERTD_RULES_DIR": str(root / "rules"),
                "ALERTD_STATE_DIR": str(root / "state"),
                "ALERTD_EVALUATION_DELAY_SECONDS": "0",
                "ALERTD_LOG_FORMAT": "json",
                "ALERTD_LOG_LEVEL": "info",
            }
            with log.open("wb") as sink:
                daemon = subprocess.Popen(
                    [*alertd, "run", "--http", "127.0.0.1:0"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
                ticks: list[dict[str, object]] = []

                def ticked() -> bool:
                    assert daemon is not None
                    if daemon.poll() is not None:
                        raise SystemExit(f"alertd run exited: {log.read_text()[-2000:]}")
                    ticks[:] = [
                        event
                        for line in log.read_text().splitlines()
                        if line.startswith("{")
                        and (event := json.loads(line)).get("event") == "tick.done"
                    ]
                    return len(ticks) >= 3

                wait_until(ticked, "three ticks", deadline)
                rss = peak_rss_mib(daemon.pid)
                changed = sum(int(str(t.get("transitions", 0))) for t in ticks)
                unhealthy = {r for t in ticks for r in cast(list[str], t.get("unhealthy") or [])}
                started = time.monotonic()
                stop(daemon)
            print(
                f"alertd run: {RULES} rules × {tables} tables = {RULES * tables} series "
                f"({written['written']} points), {len(ticks)} ticks, {changed} transitions, "
                f"unhealthy rules {sorted(unhealthy) or 'none'}: peak RSS {rss:.0f} MiB; "
                f"stopped in {time.monotonic() - started:.1f} s"
            )
        finally:
            if daemon is not None:
                stop(daemon)
            stop(emulator)
    return 0


if __name__ == "__main__":
    sys.exit(main())
