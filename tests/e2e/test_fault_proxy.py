"""A live `alertd run` behind a proxy that answers badly: an alert fires on emulator data,
then each fault in turn raises AlertdSourceUnavailable in bounded time without moving the
alert, and healing resolves the source alert without paging the alert again."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.engine.source_health import SOURCE_ALERT
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries
from tests.sources.fault_proxy import FaultProxy, fault_proxy

# `QueriesSeen` fires on the emulator's data; an answer read as "no data" would resolve it
# (no_data: ok) and fire `QueriesMissing` (no_data: alert).
RULES = """\
group: live
interval: 1s
rules:
  - alert: QueriesSeen
    dataset: pitchey_database_metrics
    value: count()
    by: [table]
    window: 10m
    thresholds: {critical: "> 0"}
    no_data: ok
  - alert: QueriesMissing
    dataset: pitchey_database_metrics
    value: count()
    window: 10m
    thresholds: {critical: "> 1000000"}
    no_data: alert
"""
NOTIFY = """\
receivers:
  - name: console
    console: {}
route:
  receiver: console
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
"""
SETTINGS = {
    # Room for a healthy answer on a loaded machine, which must never look like a fault.
    "ALERTD_QUERY_TIMEOUT_SECONDS": "1.5",
    "ALERTD_QUERY_DEADLINE_SECONDS": "2",
    "ALERTD_QUERY_RETRIES": "1",
    "ALERTD_SOURCE_DOWN_AFTER_SECONDS": "1",
    "ALERTD_QUERY_MAX_RESPONSE_BYTES": "65536",
}
# What the source alert says each fault was.
FAULTS = {
    "trickle": r"answer within [\d.]+ s",
    "columnless": r"lacks columns",
    "text_in_numbers": r"measure column 'm0' typed 'String', not a number type",
    "hang": r"answer within [\d.]+ s",
    "cut": r"RemoteProtocolError",
    "huge": r"larger than 65536 bytes",
}
# A failing tick takes at most the 2 s deadline; the first one marks the source pending,
# the first one a second later fires it: about 6 s, with room for a loaded machine.
RAISED_WITHIN_SECONDS = 20.0
RESOLVED_WITHIN_SECONDS = 8.0

Event = dict[str, Any]


class Output:
    """A daemon's stdout as JSON events (transitions and notifications), its stderr kept."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        assert process.stderr is not None
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.stderr: list[str] = []
        stdout, stderr = process.stdout, process.stderr
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(stderr), daemon=True).start()

    def _read(self, stdout: Any) -> None:
        for line in stdout:
            self.events.put(json.loads(line))

    def until(self, wanted: Callable[[Event], bool], seconds: float) -> list[Event]:
        """The events up to and including the first `wanted` one, within `seconds`."""
        deadline = time.monotonic() + seconds
        found: list[Event] = []
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0.0))
            except queue.Empty:
                pytest.fail(f"nothing wanted within {seconds} s; saw {found}")
            found.append(event)
            self.seen.append(event)
            if wanted(event):
                return found

    def rest(self) -> list[Event]:
        """Whatever is left once the daemon has exited."""
        while not self.events.empty():
            self.seen.append(self.events.get())
        return self.seen


def transition(alert: str, change: str) -> Callable[[Event], bool]:
    return lambda e: e.get("alert") == alert and e.get("change") == change


def notification(alert: str, kind: str) -> Callable[[Event], bool]:
    return lambda e: e.get("kind") == kind and any(a["alert"] == alert for a in e["alerts"])


def about(event: Event) -> set[str]:
    """The alerts an event (a transition or a notification) is about."""
    if "alerts" in event:
        return {a["alert"] for a in event["alerts"]}
    return {event["alert"]}


@pytest.fixture
def proxy(ae: RunningEmulator) -> Iterator[FaultProxy]:
    with fault_proxy(ae.root_url) as running:
        yield running


def test_faults_raise_source_unavailable_without_resolving_or_repaging_the_alert(
    tmp_path: Path, ae: RunningEmulator, proxy: FaultProxy
) -> None:
    write_recent_queries(ae)
    rules = rules_folder(tmp_path / "rules", RULES, NOTIFY)
    env = {**SETTINGS, "CLOUDFLARE_API_BASE": proxy.base_url}
    process = start_daemon(tmp_path, ae, rules, "--json", "--transitions", env=env)
    output = Output(process)
    try:
        output.until(transition("QueriesSeen", "firing"), 60)
        output.until(notification("QueriesSeen", "firing"), RESOLVED_WITHIN_SECONDS)
        for mode, said in FAULTS.items():
            proxy.mode = mode
            started = time.monotonic()
            # Healed only once paged: a page that resolves before it goes out is not sent.
            outage = output.until(notification(SOURCE_ALERT, "firing"), RAISED_WITHIN_SECONDS)
            raised_after = time.monotonic() - started
            (fired,) = [e for e in outage if transition(SOURCE_ALERT, "firing")(e)]
            assert re.search(said, fired["threshold"]), (mode, fired)
            proxy.mode = "pass"
            healed = output.until(notification(SOURCE_ALERT, "resolved"), RESOLVED_WITHIN_SECONDS)
            assert any(map(transition(SOURCE_ALERT, "resolved"), healed)), (mode, healed)
            # Only the source alert moved: nothing resolved, fired or paged anything else.
            assert all(about(e) == {SOURCE_ALERT} for e in outage + healed), (mode, outage + healed)
            assert proxy.answered[mode] > 0
            assert raised_after < RAISED_WITHIN_SECONDS
    finally:
        proxy.mode = "pass"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, "".join(output.stderr[-20:])
    seen = output.rest()
    assert [e["change"] for e in seen if e.get("alert") == "QueriesSeen"] == ["firing"]
    assert [e["kind"] for e in seen if "alerts" in e and "QueriesSeen" in about(e)] == ["firing"]
    assert not [e for e in seen if "QueriesMissing" in about(e)]
    assert not [line for line in output.stderr if '"tick.bug"' in line]
