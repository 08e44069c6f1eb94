"""A daemon killed with SIGKILL while pages are in flight loses none and doubles none:
after a restart every alert's trigger and resolve arrive, each alert under one dedup_key."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator
from tests.commands.live_daemon import daemon_env
from tests.notify.fakes import Answer, FakeServices, serving

RULES = Path(__file__).parents[2] / "rules"
TABLES = [f"t{i}" for i in range(5)]
ROUTING_KEY = "r" * 32
RULE = """\
group: crash
interval: 1s
rules:
  - alert: QueriesSeen
    dataset: pitchey_database_metrics
    value: count()
    by: [table]
    window: 20s
    thresholds: {critical: "> 0"}
    no_data: ok
"""
NOTIFY = """\
receivers:
  - name: pagerduty
    pagerduty: {{routing_key: "{key}", url: "{url}"}}
route:
  receiver: pagerduty
  group_by: ["..."]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
"""
TIMEOUT = 90.0


def start(tmp_path: Path, ae: RunningEmulator, rules: Path) -> subprocess.Popen[bytes]:
    env = daemon_env(tmp_path, ae)
    return subprocess.Popen(
        [sys.executable, "-m", "alertd.cli", "run", "--rules", str(rules)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def events(fakes: FakeServices) -> list[dict[str, object]]:
    return [r.json() for r in fakes.pagerduty.requests]


def table_of(event: dict[str, object]) -> str:
    payload = event.get("payload")
    details = payload.get("custom_details", {}) if isinstance(payload, dict) else {}
    text = str(details)
    return next(t for t in TABLES if f"'table': '{t}'" in text or f'table="{t}"' in text)


def resolved_tables(seen: list[dict[str, object]]) -> set[str]:
    tables = {e["dedup_key"]: table_of(e) for e in seen if e["event_action"] == "trigger"}
    return {
        tables[e["dedup_key"]]
        for e in seen
        if e["event_action"] == "resolve" and e["dedup_key"] in tables
    }


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_sigkill_in_flight_loses_no_page_and_never_changes_a_dedup_key(
    tmp_path: Path, ae: RunningEmulator
) -> None:
    with serving() as fakes, fakes.checked():
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
        (rules / "live.yaml").write_text(RULE)
        url = f"{fakes.base_url}/pagerduty/v2/enqueue"
        (rules / "notify.yaml").write_text(NOTIFY.format(key=ROUTING_KEY, url=url))
        ae.reset()
        now = SystemClock().now()
        # Points over the next quarter minute: a daemon slow to start still sees them, and
        # every alert resolves once the last has left the 20 s window.
        ae.write(
            "pitchey_database_metrics",
            [
                {
                    "timestamp": int((now + dt.timedelta(seconds=ahead)).timestamp() * 1000),
                    "indexes": [table],
                    "blobs": ["SELECT", table, "success", "", "/api", "u"],
                    "doubles": [5.0, 1.0, 0.0],
                }
                for table in TABLES
                for ahead in range(-1, 15, 3)
            ],
        )
        # PagerDuty is slow: the first pages are still in flight when the daemon dies.
        fakes.pagerduty.then(*[Answer(202, {"status": "success"}, delay=30.0)] * 3)
        first = start(tmp_path, ae, rules)
        try:
            wait_for(lambda: len(fakes.pagerduty.requests) >= 2, "pages in flight")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        before = events(fakes)
        assert fakes.problems() == []
        fakes.reset()  # the slow answers end; what was in flight never got its answer
        second = start(tmp_path, ae, rules)
        try:
            wait_for(
                lambda: resolved_tables(before + events(fakes)) == set(TABLES), "every resolve"
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert second.returncode == 0
        seen = before + events(fakes)
        triggers = [e for e in seen if e["event_action"] == "trigger"]
        keys_per_table: dict[str, set[object]] = {}
        for event in triggers:
            keys_per_table.setdefault(table_of(event), set()).add(event["dedup_key"])
        # Every alert paged, and under one dedup_key only, before and after the kill.
        assert set(keys_per_table) == set(TABLES)
        assert all(len(keys) == 1 for keys in keys_per_table.values())
        for keys in keys_per_table.values():
            (key,) = keys
            actions = [e["event_action"] for e in seen if e["dedup_key"] == key]
            assert actions[-1] == "resolve"
            assert actions.index("resolve") > actions.index("trigger")
