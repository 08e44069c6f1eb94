import socket
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.notify.receivers.pagerduty import dedup_key
from tests.notify.fakes import Answer, FakeServices

RULES = Path(__file__).parents[2] / "rules"
ROUTING_KEY = "pdROUTINGkeySECRET00000000000042"

NOTIFY = """\
receivers:
  - name: console
    console: {{}}
  - name: pager
    pagerduty:
      routing_key: "${{TEST_PAGERDUTY_KEY}}"
      url: "{base}/pagerduty/v2/enqueue"
  - name: hook
    webhook: {{url: "{base}/webhook/alertd"}}
  - name: slack
    slack: {{webhook_url: "${{SLACK_WEBHOOK_URL}}"}}
route:
  receiver: console
"""


@pytest.fixture
def rules(tmp_path: Path, fake: FakeServices, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rules folder whose receivers post to the local fakes; Slack's variable is unset."""
    monkeypatch.setenv("TEST_PAGERDUTY_KEY", ROUTING_KEY)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (tmp_path / "notify.yaml").write_text(NOTIFY.format(base=fake.base_url))
    return tmp_path


def group_key(out: str) -> str:
    first = out.splitlines()[0]
    assert first.startswith("sent: test alert AlertdTest to ")
    return first.rsplit("(group ", 1)[1].rstrip(")")


def test_pagerduty_gets_a_marked_trigger_then_its_resolve(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "pager", "--rules", str(rules)]) == 0

    out, err = capsys.readouterr()
    key = group_key(out)
    assert key.startswith("test:pager:")
    assert out.splitlines()[1] == "sent: its resolve, so the test alert does not stay open"
    trigger, resolve = (request.json() for request in fake.pagerduty.requests)
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == dedup_key(key)
    assert trigger["payload"]["summary"] == (
        f"[TEST] [FIRING:1] AlertdTest: Test notification from alertd on {socket.gethostname()}"
    )
    assert trigger["payload"]["severity"] == "warning"
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": dedup_key(key),
    }
    assert ROUTING_KEY not in out + err


def test_each_test_opens_an_incident_of_its_own(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = set()
    for _ in range(2):
        assert main(["notify-test", "pager", "--rules", str(rules)]) == 0
        keys.add(group_key(capsys.readouterr().out))

    assert len(keys) == 2
    sent = {request.json()["dedup_key"] for request in fake.pagerduty.requests}
    assert sent == {dedup_key(key) for key in keys}


def test_a_webhook_gets_the_test_alert_and_its_resolve(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "hook", "--rules", str(rules)]) == 0

    key = group_key(capsys.readouterr().out)
    trigger, resolve = (request.json() for request in fake.webhook.requests)
    assert (trigger["groupKey"], trigger["status"]) == (key, "firing")
    [alert] = trigger["alerts"]
    assert alert["labels"] == {"alertname": "AlertdTest", "severity": "warning"}
    assert alert["annotations"]["summary"].startswith("Test notification from alertd on ")
    assert (resolve["groupKey"], resolve["status"]) == (key, "resolved")
    assert resolve["alerts"][0]["status"] == "resolved"


def test_the_console_receiver_prints_the_test(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "console", "--rules", str(rules)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[TEST] [FIRING:1] notification to console"
    assert "[TEST] [RESOLVED:1] notification to console" in lines


def test_a_refused_trigger_prints_the_error_and_sends_no_resolve(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.pagerduty.then(Answer(400, {"message": "Event object is invalid", "errors": ["nope"]}))

    assert main(["notify-test", "pager", "--rules", str(rules)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "pagerduty receiver 'pager': HTTP 400: Event object is invalid: nope" in err
    assert ROUTING_KEY not in err
    assert len(fake.pagerduty.requests) == 1


def test_a_trigger_that_may_have_landed_is_resolved_anyway(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.pagerduty.then(Answer(503, "busy"))

    assert main(["notify-test", "pager", "--rules", str(rules)]) == 1

    out, err = capsys.readouterr()
    assert "HTTP 503: busy" in err
    assert out == "sent a resolve anyway, in case the test alert arrived\n"
    actions = [request.json()["event_action"] for request in fake.pagerduty.requests]
    assert actions == ["trigger", "resolve"]


def test_a_failed_resolve_says_the_test_alert_may_stay_open(
    rules: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.pagerduty.then(Answer(202, {"status": "success"}), Answer(500, "down"))

    assert main(["notify-test", "pager", "--rules", str(rules)]) == 1

    err = capsys.readouterr().err
    assert "the resolve failed, so the test alert may stay open" in err
    assert "HTTP 500: down" in err


def test_an_unknown_receiver_exits_1_naming_the_configured_ones(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "pagerduty", "--rules", str(rules)]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "unknown receiver 'pagerduty' (configured: console, hook, pager; "
        "skipped: slack: SLACK_WEBHOOK_URL is not set)"
    ]


def test_a_skipped_receiver_exits_1_saying_why(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "slack", "--rules", str(rules)]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "receiver 'slack' is skipped: SLACK_WEBHOOK_URL is not set "
        "(configured: console, hook, pager)"
    ]
