"""The package as installed: version, `python -m alertd`, the emulator extra's hint."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import metadata
from pathlib import Path

import alertd

ROOT = Path(__file__).parents[2]


def test_version_comes_from_the_package_metadata() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert alertd.__version__ == project["version"]
    assert metadata("alertd")["License-Expression"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text()


def test_python_m_alertd_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alertd", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == f"alertd {alertd.__version__}\n"


def test_emulator_without_its_extra_names_the_extra_in_one_line() -> None:
    for command in ("emulator", "demo"):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.modules['chdb'] = sys.modules['uvicorn'] = None; "
                f"from alertd.cli import main; sys.exit(main(['{command}']))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert done.stderr == (
            f"alertd {command}: needs the emulator extra (chdb, uvicorn not installed): "
            "pip install 'alertd[emulator]'\n"
        )
