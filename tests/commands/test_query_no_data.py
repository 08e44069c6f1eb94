"""`alertd query` over a window with no data says so, rather than print a bare header."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main
from alertd.emulator.server import RunningEmulator

RULES = Path(__file__).parents[2] / "rules"
POINT = {"timestamp": "2026-11-28T10:00:00Z", "indexes": ["users"], "doubles": [1.0]}


@pytest.fixture
def emulator_env(ae: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_BASE", ae.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ae.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", ae.token)
    ae.reset()
    ae.write("pitchey_database_metrics", [POINT])  # the dataset exists, but not in 2020


@pytest.mark.parametrize(("json_flag", "printed"), [([], "value  samples\n"), (["--json"], "[]\n")])
def test_an_empty_answer_prints_its_header_and_a_hint_on_stderr(
    json_flag: list[str],
    printed: str,
    emulator_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["query", "count()", "--dataset", "pitchey_database_metrics", "--at", "2020-01-01T00:00Z",
         "--rules", str(RULES), *json_flag]
    )  # fmt: skip
    assert code == 0
    out, err = capsys.readouterr()
    assert out == printed
    assert err.splitlines() == [
        "no series in the window ending at 2020-01-01T00:00:00Z; has data been written? "
        "(alertd simulate writes some)"
    ]
