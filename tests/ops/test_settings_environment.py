"""Where settings come from under systemd, Kubernetes and a plain shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.settings import Settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "STATE_DIRECTORY",
        "CONFIGURATION_DIRECTORY",
        "CREDENTIALS_DIRECTORY",
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_API_TOKEN_FILE",
        "ALERTD_STATE_DIR",
        "ALERTD_RULES_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def test_directories_fall_back_to_the_working_directory() -> None:
    settings = Settings()
    assert settings.state_dir == Path("state")
    assert settings.rules_dir == Path("rules")


def test_systemd_directories_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/alertd:/var/lib/other")
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", "/etc/alertd")
    settings = Settings()
    assert settings.state_dir == Path("/var/lib/alertd")
    assert settings.rules_dir == Path("/etc/alertd")


def test_alertd_variables_win_over_systemd_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/alertd")
    monkeypatch.setenv("ALERTD_STATE_DIR", "/srv/alertd")
    assert Settings().state_dir == Path("/srv/alertd")


def test_token_is_read_from_the_file_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN_FILE", str(tmp_path / "token"))
    assert Settings().cloudflare_api_token.get_secret_value() == "s3cret"


def test_token_is_read_from_the_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cloudflare-api-token").write_text("from-credential")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert Settings().cloudflare_api_token.get_secret_value() == "from-credential"


def test_the_token_variable_wins_over_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cloudflare-api-token").write_text("from-credential")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "direct")
    assert Settings().cloudflare_api_token.get_secret_value() == "direct"


def test_an_unreadable_token_file_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN_FILE", str(tmp_path / "missing"))
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"cannot read the API token from {tmp_path / 'missing'}: No such file or directory\n"
    )


def test_an_empty_token_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("\n")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN_FILE", str(tmp_path / "token"))
    assert main(["check", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"the API token file {tmp_path / 'token'} is empty\n"


def test_an_unusable_systemd_state_directory_is_one_line_and_exit_1(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("")
    rules = Path(__file__).parents[2] / "rules"
    env = {
        **os.environ,
        "STATE_DIRECTORY": str(not_a_folder),
        "CLOUDFLARE_ACCOUNT_ID": "a",
        "CLOUDFLARE_API_TOKEN": "t",
        "ALERTD_LOG_LEVEL": "error",
    }
    env.pop("ALERTD_STATE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "alertd", "run", "--rules", str(rules)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"cannot open the state store at {not_a_folder}/alertd.db: "
        f"{not_a_folder} is not a directory\n"
    )


def test_a_state_url_that_is_not_postgresql_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_STATE_URL", "mysql://alertd:secret@db/alertd")
    assert main(["check", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "ALERTD_STATE_URL must be a postgresql:// URL (or unset, for the SQLite file in"
        " ALERTD_STATE_DIR), not one starting 'mysql'\n"
    )


def test_the_state_url_is_secret_and_unset_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().state_url.get_secret_value() == ""
    monkeypatch.setenv("ALERTD_STATE_URL", "postgresql://alertd:s3cret@db:5432/alertd")
    assert "s3cret" not in repr(Settings())
