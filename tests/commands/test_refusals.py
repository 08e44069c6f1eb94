"""Bad settings, arguments and folders are refused in one line each, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main

RULES = Path(__file__).parents[2] / "rules"
CREDENTIALS = (
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "ALERTD_CLOUDFLARE_ACCOUNT_ID",
    "ALERTD_CLOUDFLARE_API_TOKEN",
)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALERTD_QUERY_RETRIES", "0")  # should a query slip through, end soon


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback port 9 answers nothing; the refusals below come before any query.
    monkeypatch.setenv("CLOUDFLARE_API_BASE", "http://127.0.0.1:9/client/v4")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "demo")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "demo")
    monkeypatch.setenv("ALERTD_QUERY_RETRIES", "0")


def test_each_bad_setting_is_named_in_one_line_and_every_command_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_EVALUATION_DELAY_SECONDS", "abc")
    monkeypatch.setenv("ALERTD_LOG_FORMAT", "xml")
    monkeypatch.setenv("ALERTD_QUERY_RETRIES", "-5")
    assert main(["check", str(RULES)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert sorted(err.splitlines()) == [
        "ALERTD_EVALUATION_DELAY_SECONDS='abc': should be auto or a number of seconds",
        "ALERTD_LOG_FORMAT='xml': should be one of auto, json, logfmt, console",
        "ALERTD_QUERY_RETRIES='-5': should be greater than or equal to 0",
    ]
    assert main(["silence", "list"]) == 1


def test_backtest_without_credentials_is_refused_before_replaying(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backtest", "--from", "2026-01-01T00:00Z", "--to", "2026-01-01T00:01Z",
         "--rules", str(RULES)]
    )  # fmt: skip
    assert code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (and CLOUDFLARE_API_BASE for the "
        "emulator)"
    ]


def test_query_without_credentials_exits_1_as_run_does(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["query", "count()", "--dataset", "pitchey_database_metrics", "--rules", str(RULES)]
    )
    assert code == 1
    assert capsys.readouterr().err.startswith("set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN")


@pytest.mark.parametrize("flag", ["--from", "--to"])
def test_simulate_names_a_time_it_cannot_read(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--emulator", "http://127.0.0.1:9", flag, "yesterday"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"alertd simulate: {flag} 'yesterday' is not an ISO-8601 time, e.g. 2026-01-31T18:00Z "
        "(UTC if no zone)"
    ]


def test_backtest_names_a_time_it_cannot_read(
    credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--from", "yesterday", "--to", "2026-01-01T00:00Z"])
    assert code == 2
    assert capsys.readouterr().err.startswith("alertd backtest: --from 'yesterday' is not")


@pytest.mark.parametrize("step", ["0s", "500ms", "1500ms"])
def test_backtest_step_must_be_whole_seconds_of_at_least_one(
    step: str, credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backtest", "--from", "2026-01-01T00:00Z", "--to", "2026-01-01T00:05Z", "--step", step,
         "--rules", str(RULES)]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"alertd backtest: --step must be a whole number of seconds, at least 1s (not {step!r})"
    ]


def test_query_refuses_an_empty_window_as_check_refuses_one(
    credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["query", "count()", "--dataset", "pitchey_database_metrics", "--window", "0s",
         "--rules", str(RULES)]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "--window must be a whole number of seconds, at least 1s (not '0s')"
    ]


def test_check_without_paths_reads_alertd_rules_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    monkeypatch.setenv("ALERTD_RULES_DIR", str(tmp_path))
    monkeypatch.chdir(Path(__file__).parents[2])  # where ./rules holds seven rules
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok: 0 rules in 0 groups over 3 datasets")


@pytest.mark.parametrize(
    "command",
    [
        ["query", "count()", "--dataset", "pitchey_database_metrics"],
        ["notify-test", "console"],
    ],
)
def test_a_rules_directory_that_does_not_exist_is_said_so(
    command: list[str], tmp_path: Path, credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    assert main([*command, "--rules", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"rules directory {missing} does not exist (see --rules and ALERTD_RULES_DIR)"
    ]


def test_a_misspelt_setting_is_refused_naming_the_one_meant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_EVALUATON_DELAY_SECONDS", "30")
    monkeypatch.setenv("ALERTD_NO_SUCH_THING", "1")
    assert main(["check", str(RULES)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "ALERTD_EVALUATON_DELAY_SECONDS: not an alertd setting; "
        "did you mean ALERTD_EVALUATION_DELAY_SECONDS?",
        "ALERTD_NO_SUCH_THING: not an alertd setting (see Settings in the README)",
    ]


def test_variables_read_outside_settings_are_known(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ALERTD_API_TOKEN", "t")
    monkeypatch.setenv("ALERTD_CLOUDFLARE_API_BASE", "http://127.0.0.1:9/client/v4")
    assert main(["check", str(RULES)]) == 0
    # Only the shipped receivers' unset secrets are warned of; no variable is refused.
    warnings = capsys.readouterr().err.splitlines()
    assert all(": warning: receiver " in line for line in warnings), warnings


def test_a_bad_log_level_names_the_levels_allowed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_LOG_LEVEL", "verbose")
    assert main(["check", str(RULES)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ALERTD_LOG_LEVEL='verbose': should be one of debug, info, warning, error, critical"
    ]
    monkeypatch.setenv("ALERTD_LOG_LEVEL", "WARNING")
    assert main(["check", str(RULES)]) == 0
