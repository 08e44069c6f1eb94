"""An `alertd run` process against the emulator: its rules folder, data and environment."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator

RULES = Path(__file__).parents[2] / "rules"
# Pages as soon as the emulator holds any query of a table in the last ten minutes.
QUERIES_SEEN = """\
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


def rules_folder(folder: Path, rule: str = QUERIES_SEEN, notify: str | None = None) -> Path:
    """The shipped dataset schemas, `rule` as live.yaml, and `notify` as notify.yaml."""
    folder.mkdir()
    (folder / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (folder / "live.yaml").write_text(rule)
    if notify is not None:
        (folder / "notify.yaml").write_text(notify)
    return folder


def write_recent_queries(ae: RunningEmulator, table: str = "users") -> None:
    """A minute of queries on `table`, ending five seconds ago, in a clean emulator."""
    ae.reset()
    now = SystemClock().now()
    ae.write(
        "pitchey_database_metrics",
        [
            {
                "timestamp": int((now - dt.timedelta(seconds=s)).timestamp() * 1000),
                "indexes": [table],
                "blobs": ["SELECT", table, "success", "", "/api", "u"],
                "doubles": [10.0, 1.0, 0.0],
            }
            for s in range(5, 65)
        ],
    )


def daemon_env(tmp_path: Path, ae: RunningEmulator) -> dict[str, str]:
    """Settings for a daemon on the emulator, evaluating without delay, logging JSON."""
    return {
        **os.environ,
        "CLOUDFLARE_API_BASE": ae.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ae.account_id,
        "CLOUDFLARE_API_TOKEN": ae.token,
        "ALERTD_STATE_DIR": str(tmp_path / "state"),
        "ALERTD_EVALUATION_DELAY_SECONDS": "0",
        "ALERTD_LOG_FORMAT": "json",
    }


def start_daemon(
    tmp_path: Path,
    ae: RunningEmulator,
    rules: Path,
    *options: str,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """`alertd run --rules RULES OPTIONS...` with stdout and stderr piped; `env` adds to or
    overrides `daemon_env`."""
    return subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "run", *options, "--rules", str(rules)],
        env={**daemon_env(tmp_path, ae), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
