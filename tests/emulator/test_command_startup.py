"""`alertd emulator` refuses to start in one line and exit 1, never with a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.cli import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def start(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["emulator", *args])
    return code, capsys.readouterr().err.splitlines()


def test_a_port_in_use_is_one_line(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert start(capsys, "--port", str(busy_port)) == (
        1,
        [f"alertd emulator: cannot listen on 127.0.0.1:{busy_port}: Address already in use"],
    )


def test_a_port_out_of_range_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert start(capsys, "--port", "70000") == (
        1,
        ["alertd emulator: cannot listen on 127.0.0.1:70000: a port is between 0 and 65535"],
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "myhost", "192.0.2.1"])
def test_a_host_beyond_loopback_is_one_line(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert start(capsys, "--host", host, "--port", "0") == (
        1,
        [
            "alertd emulator: the emulator only listens on loopback "
            f"(127.0.0.1, ::1 or localhost), not {host}"
        ],
    )


def test_data_in_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.write_text("not a directory")

    assert start(capsys, "--port", "0", "--data", str(data)) == (
        1,
        [f"alertd emulator: cannot keep data in {data}: it is not a directory"],
    )
