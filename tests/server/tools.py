"""Debian's Prometheus tools (amtool, promtool) for tests that check alertd against them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

PACKAGES = {"amtool": "prometheus-alertmanager", "promtool": "prometheus"}


def tool(name: str) -> str:
    """The tool's path, installed with apt-get if missing. Skipped, saying why, only where
    apt-get itself is missing (never in CI, where .ci/run installs both)."""
    found = shutil.which(name)
    if found:
        return found
    package = PACKAGES[name]
    if shutil.which("apt-get") is None and not os.environ.get("CI"):
        pytest.skip(f"{name} is missing and apt-get is unavailable to install {package}")
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        check=True,
        capture_output=True,
        timeout=600,
    )
    found = shutil.which(name)
    assert found is not None, f"apt-get installed {package} but {name} is not on PATH"
    return found
