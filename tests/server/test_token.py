"""Where the API token comes from: the variable, else the file; a bad file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.server.auth import read_token
from alertd.server.daemon_http import HttpSetupError, http_server
from alertd.settings import Settings
from tests.server import harness

pytestmark = pytest.mark.anyio


def test_the_variable_wins_then_the_file_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    assert read_token("from-env", secret) == "from-env"
    assert read_token("", secret) == "from-file"
    assert read_token("", None) is None


@pytest.mark.parametrize(("content", "says"), [(None, "No such file"), ("  \n", "is empty")])
def test_a_bad_token_file_is_named(tmp_path: Path, content: str | None, says: str) -> None:
    secret = tmp_path / "token"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ValueError, match=says) as caught:
        read_token("", secret)
    assert f"ALERTD_API_TOKEN_FILE {secret}" in str(caught.value)


async def test_the_daemon_refuses_a_bad_token_file(tmp_path: Path) -> None:
    alertd = await harness.daemon(tmp_path)
    settings = Settings(http_addr="127.0.0.1:0", api_token_file=tmp_path / "missing")
    with pytest.raises(HttpSetupError, match="ALERTD_API_TOKEN_FILE"):
        http_server(settings, alertd.parts)


async def test_the_token_file_configures_the_server(tmp_path: Path) -> None:
    alertd = await harness.daemon(tmp_path, token=None)
    (tmp_path / "token").write_text("t0k\n")
    settings = Settings(http_addr="127.0.0.1:0", api_token_file=tmp_path / "token")
    server = http_server(settings, alertd.parts)
    server.close()
    assert alertd.parts.api_token == "t0k"
    assert server.url.startswith("http://127.0.0.1:")
