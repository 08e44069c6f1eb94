"""Logs of other libraries come out in alertd's format, one line each."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from alertd.logging import configure


def test_stdlib_logging_comes_out_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure("info", "json", secrets=["tok3n"])
    logging.getLogger("httpx").warning("retrying with tok3n in %s", "url")
    logging.getLogger("httpx").info("below the third-party threshold")
    line = capsys.readouterr().err.strip()
    record = json.loads(line)
    assert record["event"] == "retrying with *** in url"
    assert record["level"] == "warning"
    assert record["logger"] == "httpx"
    assert "timestamp" in record


def test_python_warnings_come_out_as_json() -> None:
    # In a process of its own: pytest keeps the warnings of its tests for itself.
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import warnings; from alertd.logging import configure; configure('info', 'json'); "
            "warnings.warn('old API', DeprecationWarning, stacklevel=1)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = json.loads(done.stderr.strip())
    assert record["logger"] == "py.warnings"
    assert "DeprecationWarning: old API" in record["event"]


def test_logfmt_puts_time_level_and_event_first(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    configure("info", "logfmt")
    structlog.get_logger("alertd.test").info("tick.done", group="db", ms=12)
    line = capsys.readouterr().err.strip()
    assert line.startswith("timestamp=")
    assert " level=info event=tick.done " in line
    assert line.endswith("group=db ms=12")


def test_configuring_again_leaves_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure("info", "json")
    configure("info", "json")
    logging.getLogger("asyncio").error("boom")
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
