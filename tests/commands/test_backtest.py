"""`alertd backtest` over simulator data with the demo's incident timeline."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

import anyio
import httpx
import pytest

from alertd.cli import main
from alertd.emulator.server import RunningEmulator
from alertd.model import AlertState, NotifyChanges
from alertd.notify.service import NotificationService
from alertd.simulator.timeline import demo_timeline
from alertd.simulator.writer import write_range
from tests.notify.fakes import FakeServices

RULES = Path(__file__).parents[2] / "rules"
ORIGIN = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)

# (minutes after the origin, alert, series, change, severity): what the demo timeline must
# cause. Each incident of alertd/simulator/demo_timeline.yaml fires its rule, and resolves;
# rules with `confidence` wait for a significant breach, and for a significant recovery.
EXPECTED = [
    (5.0, "SlowQueryP95", "users", "pending", "warning"),
    (6.0, "SlowQueryP95", "users", "firing", "warning"),
    (7.0, "LowCacheHitRate", "", "pending", "warning"),
    (9.0, "LowCacheHitRate", "", "firing", "warning"),
    (9.0, "SlowQueryP95", "users", "escalated", "critical"),
    (10.5, "HighErrorRate", "/api/pitches", "pending", "critical"),
    (11.5, "HighErrorRate", "/api/pitches", "firing", "critical"),
    (12.0, "ApplicationErrorRate", "", "pending", "warning"),
    (13.0, "LowCacheHitRate", "", "resolved", "warning"),
    (14.0, "ApplicationErrorRate", "", "firing", "warning"),
    (14.5, "ApiResponseP95", "/api/search", "pending", "warning"),
    (15.5, "ApiResponseP95", "/api/search", "firing", "warning"),
    (15.5, "DatabaseConnectionErrors", "neon-pool", "firing", "warning"),
    (15.5, "FailedQueryRate", "messages", "pending", "warning"),
    (15.5, "SlowQueryP95", "users", "deescalated", "warning"),
    (16.5, "ApiResponseP95", "/api/search", "escalated", "critical"),
    (17.5, "DatabaseConnectionErrors", "neon-pool", "escalated", "critical"),
    (17.5, "FailedQueryRate", "messages", "firing", "warning"),
    (17.5, "SlowQueryP95", "users", "resolved", "warning"),
    (18.5, "HighErrorRate", "/api/pitches", "resolved", "critical"),
    (19.0, "ApplicationErrorRate", "", "resolved", "warning"),
    (21.0, "ApiResponseP95", "/api/search", "deescalated", "warning"),
    (22.5, "ApiResponseP95", "/api/search", "resolved", "warning"),
    (22.5, "DatabaseConnectionErrors", "neon-pool", "deescalated", "warning"),
    (24.0, "FailedQueryRate", "messages", "resolved", "warning"),
    (26.5, "DatabaseConnectionErrors", "neon-pool", "resolved", "warning"),
]


@pytest.fixture
def demo_data(ae: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_BASE", ae.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ae.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", ae.token)
    ae.reset()

    async def write() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            start = ORIGIN - dt.timedelta(minutes=10)
            end = ORIGIN + dt.timedelta(minutes=30)
            await write_range(
                client, ae.root_url, demo_timeline(), start, end, origin=ORIGIN, seed=7,
                chunk=dt.timedelta(minutes=5),
            )  # fmt: skip

    anyio.run(write)


def count_notifier_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of notifier steps taken from now on, in a list that it updates."""
    steps = [0]
    decide = NotificationService.decide

    async def counted(
        self: NotificationService, states: Mapping[str, AlertState], at: dt.datetime
    ) -> NotifyChanges:
        steps[0] += 1
        return await decide(self, states, at)

    monkeypatch.setattr(NotificationService, "decide", counted)
    return steps


def series(labels: dict[str, str]) -> str:
    return next((v for k, v in labels.items() if k != "team"), "")


def test_backtest_prints_exactly_the_expected_alerts_at_the_expected_ticks(
    demo_data: None, capsys: pytest.CaptureFixture[str]
) -> None:
    end = ORIGIN + dt.timedelta(minutes=30)
    code = main(
        [
            "backtest",
            "--from",
            ORIGIN.isoformat(),
            "--to",
            end.isoformat(),
            "--rules",
            str(RULES),
            "--json",
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    got = [
        (
            (dt.datetime.fromisoformat(t["at"]) - ORIGIN).total_seconds() / 60,
            t["alert"],
            series(t["labels"]),
            t["change"],
            t["severity"],
        )
        for t in lines
    ]
    assert sorted(got) == sorted(EXPECTED)
    for line in lines:
        assert set(line) >= {"at", "alert", "labels", "from", "to", "severity", "value"}


def test_backtest_notifications_group_wait_and_resolve_per_group(
    demo_data: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = count_notifier_steps(monkeypatch)
    end = ORIGIN + dt.timedelta(minutes=30)
    code = main(
        [
            "backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(),
            "--rules", str(RULES), "--notifications",
        ]
    )  # fmt: skip
    assert code == 0
    sent = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {n["receiver"] for n in sent} == {"console"}  # no webhook variables are set
    by_group: dict[str, list[tuple[float, str]]] = {}
    for n in sent:
        minutes = (dt.datetime.fromisoformat(n["at"]) - ORIGIN).total_seconds() / 60
        by_group.setdefault(n["group"], []).append((minutes, n["kind"]))
    # Grouped by alertname and team: each rule that fired opened one group, which
    # notified first group_wait (30 s) after its first firing alert and ended resolved.
    fired = {name for _, name, _, change, _ in EXPECTED if change == "firing"}
    assert len(by_group) == len(fired)
    for name in fired:
        first_firing = min(
            m for m, alert, _, change, _ in EXPECTED if alert == name and change == "firing"
        )
        (group,) = [g for g in by_group if f'alertname="{name}"' in g]
        notes = by_group[group]
        assert notes[0] == (first_firing + 0.5, "firing")
        assert notes[-1][1] == "resolved"
        assert all(kind == "firing" for _, kind in notes[:-1])
    # The notifier steps once the groups due at an instant have all ticked (every 30 s of
    # the half hour, both ends included) and at its groups' timers, which here all fall on
    # ticks: not between two groups' ticks of one instant, nor at every second.
    assert steps == [61]


def test_backtest_deliver_sends_replayed_pages_and_never_prints_the_routing_key(
    demo_data: None,
    fake: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    routing_key = "R0UT1NGKEY0123456789abcdefghijkl"
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", routing_key)
    monkeypatch.setenv("PAGERDUTY_EVENTS_URL", f"{fake.base_url}/pagerduty/v2/enqueue")
    end = ORIGIN + dt.timedelta(minutes=30)
    code = main(
        [
            "backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(),
            "--rules", str(RULES), "--notifications", "--deliver",
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert routing_key not in printed
    # Delivered console notifications print as text among the JSON lines.
    replayed = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    paged = [n for n in replayed if n["receiver"] == "pagerduty"]
    assert paged
    assert all(n["payload"]["routing_key"] == "***" for n in paged)
    # Historical notifications are not too old to send: every one printed was delivered.
    actions = [json.loads(r.body)["event_action"] for r in fake.pagerduty.requests]
    assert len(actions) == len(paged)
    assert actions.count("resolve") == sum(n["kind"] == "resolved" for n in paged)
