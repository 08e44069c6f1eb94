import datetime as dt
import json
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.emulator.server import RunningEmulator

RULES = Path(__file__).parents[2] / "rules"
AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def emulator_env(ae: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setenv("CLOUDFLARE_API_BASE", ae.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ae.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", ae.token)
    ae.reset()
    points = []
    for second in range(120):
        at = AT - dt.timedelta(seconds=second + 1)
        for table, duration, interval in (("users", 40.0 + second, 1), ("pitches", 10.0, 10)):
            points.append(
                {
                    "timestamp": int(at.timestamp() * 1000),
                    "indexes": [table],
                    "blobs": [
                        "SELECT",
                        table,
                        "error" if second % 10 == 0 else "success",
                        "",
                        "/api",
                        "u",
                    ],
                    "doubles": [duration, 1.0, at.timestamp()],
                    "sample_interval": interval,
                }
            )
    ae.write("pitchey_database_metrics", points)
    return ae


def test_query_prints_one_json_object_per_series(
    emulator_env: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "query", "count()", "--dataset", "pitchey_database_metrics", "--by", "table",
            "--window", "2m", "--at", AT.isoformat(), "--rules", str(RULES), "--json",
        ]
    )  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(rows, key=lambda r: r["labels"]["table"]) == [
        {"labels": {"table": "pitches"}, "value": 1200.0, "samples": 120},
        {"labels": {"table": "users"}, "value": 120.0, "samples": 120},
    ]


def test_query_prints_a_table_with_a_where_filter(
    emulator_env: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "query", "max(duration)", "--dataset", "pitchey_database_metrics", "--by", "table",
            "--where", 'status == "success"', "--window", "1m", "--at", AT.isoformat(),
            "--rules", str(RULES),
        ]
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["table", "value", "samples"]
    assert lines[1].split() == ["users", "99", "54"]  # seconds 1..59 ago, minus the 6 errors
    assert lines[2].split() == ["pitches", "10", "54"]


def test_a_bad_expression_points_at_the_mistake(
    emulator_env: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["query", "p95(table)", "--dataset", "pitchey_database_metrics", "--rules", str(RULES)]
    )
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "value: p95() needs a number, but 'table' is a string field of pitchey_database_metrics",
        "  p95(table)",
        "      ^",
    ]


def test_an_unknown_dataset_is_named(
    emulator_env: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "count()", "--dataset", "nope", "--rules", str(RULES)]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
