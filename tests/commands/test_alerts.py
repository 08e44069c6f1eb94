"""`alertd alerts`: what is pending and firing in the state store, and why a muted alert
is muted, on the shipped rules and notification file."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from alertd.cli import main
from alertd.clock import SystemClock
from alertd.model import AlertState, Severity, SilenceRecord, Status, fingerprint
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

RULES = Path(__file__).parents[2] / "rules"
NOW = SystemClock().now().replace(microsecond=0)
SINCE = NOW - dt.timedelta(minutes=3)


def state(rule: str, status: Status, severity: Severity, value: float, **labels: str) -> AlertState:
    pairs = tuple(sorted(labels.items()))
    firing_since = SINCE if status is Status.FIRING else None
    return AlertState(
        fingerprint(rule, pairs), rule, pairs, status, severity, active_since=SINCE,
        firing_since=firing_since, last_breach=NOW, last_seen=NOW, last_eval=NOW,
        value=value, samples=100,
    )  # fmt: skip


FIRING, PENDING, CRITICAL, WARNING = (
    Status.FIRING,
    Status.PENDING,
    Severity.CRITICAL,
    Severity.WARNING,
)
DB, PLATFORM = {"team": "database"}, {"team": "platform"}
SLOW = state("SlowQueryP95", FIRING, CRITICAL, 242.9, table="users", **DB)
INHIBITED = state("FailedQueryRate", FIRING, WARNING, 0.0259, table="users", **DB)
SILENCED = state("HighErrorRate", FIRING, CRITICAL, 0.153, endpoint="/api/pitches", **PLATFORM)
WAITING = state("SlowQueryP95", PENDING, WARNING, 160.0, table="pitches", **DB)


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTD_RULES_DIR", str(RULES))

    async def write() -> None:
        store = await SqliteStore.open(tmp_path / "alertd.db")
        try:
            states = (SLOW, INHIBITED, SILENCED, WAITING)
            await store.commit(Commit(at=NOW, group="all", states=states))
            await store.add_silence(
                SilenceRecord(
                    "s-7",
                    ('endpoint="/api/pitches"',),
                    SINCE,
                    NOW + dt.timedelta(hours=1),
                    "ann",
                    "deploy",
                )
            )
        finally:
            await store.aclose()

    anyio.run(write)
    return tmp_path


def listed(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[dict[str, Any]]:
    assert main(["alerts", "--json", *arguments]) == 0
    shown: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return shown


def test_every_current_alert_is_listed_with_state_severity_value_since_and_why_muted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = {
        (a["alert"], a["labels"].get("table", a["labels"].get("endpoint"))): a
        for a in listed(capsys)
    }

    assert set(shown) == {
        ("SlowQueryP95", "users"),
        ("FailedQueryRate", "users"),
        ("HighErrorRate", "/api/pitches"),
        ("SlowQueryP95", "pitches"),
    }
    critical = shown["SlowQueryP95", "users"]
    assert (critical["state"], critical["severity"], critical["value"], critical["unit"]) == (
        "firing", "critical", 242.9, "ms",
    )  # fmt: skip
    assert critical["since"] == SINCE.isoformat().replace("+00:00", "Z")
    assert critical["muted"] is False
    assert shown["FailedQueryRate", "users"]["muted_by"] == (
        'inhibited by SlowQueryP95{severity="critical", table="users", team="database"}'
    )
    assert shown["HighErrorRate", "/api/pitches"]["muted_by"] == "silenced by s-7"
    assert shown["SlowQueryP95", "pitches"]["state"] == "pending"


def test_matchers_narrow_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    shown = listed(capsys, "SlowQueryP95", 'table="users"')

    assert [(a["alert"], a["labels"]["table"]) for a in shown] == [("SlowQueryP95", "users")]


def test_the_table_says_muted_and_why_with_values_in_their_unit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["alerts", "team=database"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["alert", "labels", "state", "severity", "value", "since", "muted"]
    failed = next(line for line in lines if line.startswith("FailedQueryRate"))
    assert "2.59 %" in failed
    assert failed.endswith(
        'yes: inhibited by SlowQueryP95{severity="critical", table="users", team="database"}'
    )


def test_a_bad_matcher_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "SlowQueryP95", "table=~("]) == 2
    assert "matcher" in capsys.readouterr().err
