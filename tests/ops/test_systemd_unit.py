"""deploy/systemd/alertd.service: systemd accepts it and rates its exposure OK or better."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "deploy" / "systemd" / "alertd.service"
# systemd-analyze security's levels, best first; "OK" is an exposure below 5.0.
GOOD_ENOUGH = {"PERFECT", "SAFE", "OK"}
ANALYZE = shutil.which("systemd-analyze")
if ANALYZE is None and os.environ.get("REQUIRE_CONTAINER_TESTS"):
    raise RuntimeError("systemd-analyze is not installed (REQUIRE_CONTAINER_TESTS is set)")
pytestmark = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The shipped unit, starting this environment's alertd so `verify` finds the program."""
    alertd = Path(sys.executable).parent / "alertd"
    text = UNIT.read_text().replace("/opt/alertd/bin/alertd", str(alertd))
    copy = tmp_path / "alertd.service"
    copy.write_text(text)
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_systemd_analyze_verify_accepts_the_unit(unit: Path) -> None:
    done = analyze("verify", str(unit))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""


def test_the_unit_is_rated_ok_or_better(unit: Path) -> None:
    done = analyze("security", "--offline=true", str(unit))
    assert done.returncode == 0, done.stderr
    found = re.search(r"Overall exposure level for alertd\.service: (\d+\.\d) (\w+)", done.stdout)
    assert found, done.stdout[-500:]
    exposure, level = float(found[1]), found[2]
    assert level in GOOD_ENOUGH
    assert exposure <= 4.9


def test_the_unit_runs_alertd_as_a_notify_service_with_credentials() -> None:
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^\w+=", line)
    )
    assert settings["Type"] == "notify"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["Restart"] == "on-failure"
    assert settings["DynamicUser"] == "yes"
    assert settings["StateDirectory"] == "alertd"
    assert settings["ConfigurationDirectory"] == "alertd"
    assert settings["LoadCredential"].startswith("cloudflare-api-token:")
    assert settings["ProtectSystem"] == "strict"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["WatchdogSec"]
