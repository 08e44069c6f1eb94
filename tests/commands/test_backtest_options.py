"""`alertd backtest` options that make its answers trustworthy: coarse steps, chosen rules,
empty ranges, the summary, and range answers equal to the tick-by-tick replay's."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from alertd.cli import main
from tests.commands.test_backtest import ORIGIN, RULES, demo_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo_data")
END = ORIGIN + dt.timedelta(minutes=30)


def backtest(*extra: str, start: dt.datetime = ORIGIN, end: dt.datetime = END) -> int:
    span = ["--from", start.isoformat(), "--to", end.isoformat()]
    return main(["backtest", *span, "--rules", str(RULES), *extra])


def test_a_step_coarser_than_a_groups_interval_is_refused_without_coarse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest("--step", "60s") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--step 60s is coarser than group 'api''s interval 30s" in captured.err
    assert "add --coarse" in captured.err


def test_with_coarse_each_transition_says_it_was_judged_coarsely(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest("--step", "60s", "--coarse", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines
    assert all(line["coarse"] == {"step": "60s", "interval": "30s"} for line in lines)
    assert backtest("--step", "60s", "--coarse") == 0
    text = capsys.readouterr().out.splitlines()
    assert text
    assert all(line.endswith("(coarse: judged every 60s, not every 30s)") for line in text)


def test_with_coarse_each_notification_says_it_was_judged_coarsely(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest("--step", "60s", "--coarse", "--notifications") == 0
    sent = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sent
    assert all(n["coarse"] == {"step": "60s", "interval": "30s"} for n in sent)
    assert backtest("--notifications") == 0
    sent = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sent
    assert all("coarse" not in n for n in sent)


def test_a_step_no_coarser_than_the_intervals_needs_no_coarse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest("--step", "15s", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines
    assert all("coarse" not in line for line in lines)


def test_rule_replays_only_the_named_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert backtest("--rule", "SlowQueryP95", "--rule", "HighErrorRate", "--json") == 0
    captured = capsys.readouterr()
    alerts = {json.loads(line)["alert"] for line in captured.out.splitlines()}
    assert alerts == {"SlowQueryP95", "HighErrorRate"}
    summary = json.loads(captured.err.splitlines()[-1])["summary"]
    assert [s["rule"] for s in summary] == ["HighErrorRate", "SlowQueryP95"]


def test_an_unknown_rule_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert backtest("--rule", "SlowQueryP95", "--rule", "NoSuchRule") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--rule: no rule named 'NoSuchRule'" in captured.err
    assert "SlowQueryP95" in captured.err  # the rules there are


def test_a_range_without_data_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    before = ORIGIN - dt.timedelta(days=2)
    assert backtest(start=before, end=before + dt.timedelta(hours=1)) == 0
    captured = capsys.readouterr()
    assert "no data in any dataset" in captured.err
    assert backtest() == 0
    assert "no data in any dataset" not in capsys.readouterr().err


def test_the_summary_counts_firings_and_their_time_per_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest() == 0
    err = capsys.readouterr().err
    # SlowQueryP95 fires at 6m and resolves at 17m30s (tests/commands/test_backtest.py).
    assert "  SlowQueryP95: fired once, firing 11m30s in all, longest 11m30s" in err
    assert backtest("--json") == 0
    summary = {
        s["rule"]: s for s in json.loads(capsys.readouterr().err.splitlines()[-1])["summary"]
    }
    assert summary["SlowQueryP95"] == {
        "rule": "SlowQueryP95",
        "fired": 1,
        "firing_seconds": 690.0,
        "longest_firing_seconds": 690.0,
        "pages": {},
    }
    assert summary["ApiResponseP95"]["firing_seconds"] == 7 * 60  # 15m30s to 22m30s


def test_the_summary_counts_pages_per_receiver(capsys: pytest.CaptureFixture[str]) -> None:
    assert backtest("--notifications") == 0
    captured = capsys.readouterr()
    sent = [json.loads(line) for line in captured.out.splitlines()]
    firing = [n for n in sent if n["kind"] == "firing" and "SlowQueryP95" in n["group"]]
    assert firing
    pages = f"; pages: console {len(firing)}"
    assert (
        f"  SlowQueryP95: fired once, firing 11m30s in all, longest 11m30s{pages}" in captured.err
    )


def test_range_and_exact_replays_print_the_same_transitions_and_notifications(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backtest("--json") == 0
    ranged = capsys.readouterr().out.splitlines()
    assert backtest("--json", "--exact") == 0
    exact = capsys.readouterr().out.splitlines()
    assert ranged
    assert sorted(ranged) == sorted(exact)
    assert backtest("--notifications") == 0
    ranged = capsys.readouterr().out.splitlines()
    assert backtest("--notifications", "--exact") == 0
    exact = capsys.readouterr().out.splitlines()
    assert ranged
    assert ranged == exact
