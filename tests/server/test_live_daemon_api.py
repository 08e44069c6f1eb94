"""A real `alertd run` against the emulator, asked by Alertmanager's own `amtool` and
checked by Prometheus' `promtool`: silences added, listed and expired through amtool are
alertd's silences, and amtool's alerts are alertd's."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alertd.emulator.server import RunningEmulator
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries
from tests.server.tools import tool

TOKEN = "amtool-token"
WAIT_SECONDS = 60


class Running:
    """The daemon process, its HTTP API's URL, and its stderr log events as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        assert process.stderr is not None
        stderr = process.stderr
        threading.Thread(target=self._read, args=(stderr,), daemon=True).start()
        started = self.wait_for("http.started")
        self.url = str(started["url"])

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "text", "line": line})

    def wait_for(self, event: str, **fields: object) -> dict[str, object]:
        """The next log event named `event` with these fields; fails after WAIT_SECONDS."""
        while True:
            try:
                found = self.events.get(timeout=WAIT_SECONDS)
            except queue.Empty:
                pytest.fail(f"no {event} {fields} within {WAIT_SECONDS} s")
            if found.get("event") == event and all(found.get(k) == v for k, v in fields.items()):
                return found


@pytest.fixture
def daemon(tmp_path: Path, ae: RunningEmulator) -> Iterator[Running]:
    write_recent_queries(ae)
    rules = rules_folder(tmp_path / "rules")
    process = start_daemon(
        tmp_path,
        ae,
        rules,
        env={"ALERTD_API_TOKEN": TOKEN, "ALERTD_HTTP_ADDR": "127.0.0.1:0"},
    )
    try:
        running = Running(process)
        running.wait_for("alert.transition", change="firing")
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0


def amtool(daemon: Running, tmp_path: Path, *args: str) -> str:
    config = tmp_path / "amtool-http.yml"
    config.write_text(f"authorization:\n  type: Bearer\n  credentials: {TOKEN}\n")
    done = subprocess.run(
        [
            tool("amtool"),
            f"--alertmanager.url={daemon.url}",
            f"--http.config.file={config}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_amtool_silences_and_alerts_agree_with_alertd(daemon: Running, tmp_path: Path) -> None:
    api = httpx.Client(base_url=daemon.url, timeout=10)
    (alert,) = json.loads(amtool(daemon, tmp_path, "-o", "json", "alert", "query"))
    (own,) = api.get("/api/v2/alerts").json()
    assert alert["labels"] == own["labels"]
    assert alert["labels"]["alertname"] == "QueriesSeen"
    assert alert["labels"]["table"] == "users"
    assert alert["fingerprint"] == own["fingerprint"]

    silence_id = amtool(
        daemon,
        tmp_path,
        "silence",
        "add",
        "alertname=QueriesSeen",
        'table="users"',
        "--comment=maintenance",
        "--author=ops",
        "--duration=1h",
    ).strip()
    (stored,) = api.get("/api/v2/silences").json()
    assert stored["id"] == silence_id
    assert stored["status"] == {"state": "active"}
    assert stored["createdBy"] == "ops"
    assert {(m["name"], m["value"]) for m in stored["matchers"]} == {
        ("alertname", "QueriesSeen"),
        ("table", "users"),
    }
    # alertd's own command reads the same silence from the daemon's API.
    listed = subprocess.run(
        [sys.executable, "-m", "alertd.cli", "silence", "list", "--json", "--url", daemon.url],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=True,
    )
    assert [s["id"] for s in json.loads(listed.stdout)] == [silence_id]

    queried = json.loads(amtool(daemon, tmp_path, "-o", "json", "silence", "query"))
    assert [s["id"] for s in queried] == [silence_id]
    assert amtool(daemon, tmp_path, "silence", "query", "-q").split() == [silence_id]
    (silenced,) = json.loads(amtool(daemon, tmp_path, "-o", "json", "alert", "query", "-s"))
    assert silenced["status"]["silencedBy"] == [silence_id]
    assert silenced["status"]["state"] == "suppressed"
    assert api.get("/api/v2/alerts", params={"silenced": "false"}).json() == []

    amtool(daemon, tmp_path, "silence", "expire", silence_id)
    assert api.get(f"/api/v2/silence/{silence_id}").json()["status"] == {"state": "expired"}
    assert amtool(daemon, tmp_path, "silence", "query", "-q").split() == []
    (unsilenced,) = json.loads(amtool(daemon, tmp_path, "-o", "json", "alert", "query"))
    assert unsilenced["status"]["silencedBy"] == []


def test_promtool_accepts_the_metrics_and_a_reload_shows_in_them(daemon: Running) -> None:
    refused = httpx.post(daemon.url + "-/reload", timeout=10)
    assert refused.status_code == 401
    reloaded = httpx.post(
        daemon.url + "-/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert reloaded.json() == {"message": "reloaded"}
    daemon.wait_for("rules.reloaded")
    text = httpx.get(daemon.url + "metrics", timeout=10).text
    assert "alertd_config_last_reload_successful 1.0" in text
    assert "alertd_event_loop_lag_seconds " in text
    assert 'alertd_rule_group_last_evaluation_duration_seconds{group="live"}' in text
    assert 'alertd_source_requests_total{dataset="pitchey_database_metrics"}' in text
    assert "alertd_alerts{" in text
    checked = subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""


def test_the_running_daemon_serves_its_status_page_and_analytics(daemon: Running) -> None:
    page = httpx.get(daemon.url, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    alerts = httpx.get(daemon.url + "api/v2/alerts", timeout=10).json()
    assert alerts, "the fixture's alert is firing"
    name = alerts[0]["labels"]["alertname"]
    assert name in page.text
    fingerprint = alerts[0]["fingerprint"]
    own = httpx.get(f"{daemon.url}alerts/{fingerprint}", timeout=10)
    assert own.status_code == 200
    assert "<svg" in own.text
    health = httpx.get(daemon.url + "api/analytics/database/health?window=1h", timeout=30)
    assert health.status_code == 200, health.text
    assert health.json()["window"] == "1h"


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("nowhere", "ALERTD_HTTP_ADDR or --http: 'nowhere' is not HOST:PORT"),
        ("127.0.0.1:99999", "the port must be a number from 0 to 65535"),
        ("taken", "cannot serve HTTP on 127.0.0.1:"),
    ],
)
def test_an_address_it_cannot_serve_on_stops_the_start(
    tmp_path: Path, ae: RunningEmulator, address: str, says: str
) -> None:
    rules = rules_folder(tmp_path / "rules")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if address == "taken":
            address = f"127.0.0.1:{taken.getsockname()[1]}"
        process = start_daemon(tmp_path, ae, rules, "--http", address)
        _, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 1
    assert says in err
