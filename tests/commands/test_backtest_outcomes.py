"""`alertd backtest` ends with what really happened: a refused token stops it, and
`--deliver` says what was delivered and fails if anything was not."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.emulator.server import RunningEmulator
from tests.notify.fakes import FakeServices

RULES = Path(__file__).parents[2] / "rules"
ORIGIN = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
RULE = """\
group: db
interval: 30s
rules:
  - alert: QueriesSeen
    dataset: pitchey_database_metrics
    value: count()
    window: 1m
    thresholds: {critical: "> 0"}
"""
NOTIFY = """\
receivers:
  - name: hook
    webhook: {{url: "{url}"}}
route:
  receiver: hook
  group_wait: 0s
"""


class _RefuseEveryToken(BaseHTTPRequestHandler):
    """Answers every query as AE does a token it does not know."""

    seen = 0

    def do_POST(self) -> None:
        type(self).seen += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b"Authorization error"
        self.send_response(403)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_source(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_RefuseEveryToken]]:
    _RefuseEveryToken.seen = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefuseEveryToken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CLOUDFLARE_API_BASE", f"http://127.0.0.1:{server.server_port}/client/v4")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "demo")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "wrong")
    try:
        yield _RefuseEveryToken
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_refused_token_stops_the_backtest_with_the_sources_message(
    refusing_source: type[_RefuseEveryToken], capsys: pytest.CaptureFixture[str]
) -> None:
    end = ORIGIN + dt.timedelta(hours=1)
    code = main(
        ["backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(), "--rules", str(RULES)]
    )
    assert code == 1
    out, err = capsys.readouterr()
    assert "AlertdSourceUnavailable" not in out
    assert err.splitlines()[-1].startswith("AE refused the API token for account demo (HTTP 403)")
    # One tick's queries at most, not an hour of ticks.
    assert refusing_source.seen <= 10


@pytest.fixture
def firing_rules(
    tmp_path: Path, ae: RunningEmulator, fake: FakeServices, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A rule that fires at once, routed to a webhook whose address answers 404."""
    monkeypatch.setenv("CLOUDFLARE_API_BASE", ae.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ae.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", ae.token)
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (tmp_path / "db.yaml").write_text(RULE)
    (tmp_path / "notify.yaml").write_text(NOTIFY.format(url=f"{fake.base_url}/nowhere"))
    ae.reset()
    ae.write(
        "pitchey_database_metrics",
        [
            {
                "timestamp": int((ORIGIN + dt.timedelta(seconds=s)).timestamp() * 1000),
                "indexes": ["users"],
                "blobs": ["SELECT", "users", "success", "", "/api", "u"],
                "doubles": [10.0, 1.0, 0.0],
            }
            for s in range(-120, 240, 5)
        ],
    )
    return tmp_path


def test_deliver_implies_notifications_and_a_refused_one_fails_the_command(
    firing_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    end = ORIGIN + dt.timedelta(minutes=3)
    code = main(
        ["backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(),
         "--rules", str(firing_rules), "--deliver"]
    )  # fmt: skip
    assert code == 1
    out, err = capsys.readouterr()
    (printed,) = [json.loads(line) for line in out.splitlines()]
    assert (printed["receiver"], printed["kind"]) == ("hook", "firing")
    assert err.splitlines()[-1] == "delivered 0, failed 1, expired 0"


def test_deliver_exits_0_when_everything_was_delivered(
    firing_rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    notify = firing_rules / "notify.yaml"
    notify.write_text(notify.read_text().replace("/nowhere", "/webhook/alertd"))
    end = ORIGIN + dt.timedelta(minutes=3)
    code = main(
        ["backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(),
         "--rules", str(firing_rules), "--notifications", "--deliver"]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().err.splitlines()[-1] == "delivered 1, failed 0, expired 0"
    assert len(fake.webhook.requests) == 1
