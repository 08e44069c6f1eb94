"""A receiver a route names that cannot send: logged at warning at start, and raised as
`AlertdReceiverUnavailable{receiver=...}`, routed like any other alert."""

import datetime as dt
from pathlib import Path

from structlog.testing import capture_logs

from alertd.notify.config import NotifyConfig, load_notify
from alertd.notify.notifier import Notifier
from alertd.notify.unavailable import RECEIVER_ALERT, warn_unavailable

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
NOTIFY = """\
receivers:
  - name: console
    console: {}
  - name: pagerduty
    pagerduty: {routing_key: "${PAGERDUTY_ROUTING_KEY}"}
route:
  receiver: console
  group_wait: 0s
  routes:
    - receiver: pagerduty
      matchers: ['severity="critical"']
"""


def config(tmp_path: Path, env: dict[str, str]) -> NotifyConfig:
    path = tmp_path / "notify.yaml"
    path.write_text(NOTIFY)
    loaded, errors = load_notify(path, env)
    assert errors == []
    assert loaded is not None
    return loaded


def test_an_unset_routing_key_is_logged_at_warning_naming_the_receiver(tmp_path: Path) -> None:
    unavailable = config(tmp_path, {}).unavailable

    with capture_logs() as logs:
        warn_unavailable(unavailable)

    assert logs == [
        {
            "event": "receiver.unavailable",
            "log_level": "warning",
            "receiver": "pagerduty",
            "reason": "PAGERDUTY_ROUTING_KEY is not set",
            "named_at": f"{tmp_path}/notify.yaml:10:17",
        }
    ]


def test_the_remaining_receivers_page_that_paging_is_degraded(tmp_path: Path) -> None:
    loaded = config(tmp_path, {})
    notifier = Notifier(loaded, {}, unavailable=loaded.unavailable)

    (entry,) = notifier.step({}, [], T0).outbox

    n = entry.notification
    assert n.receiver == "console"  # the pagerduty route cannot deliver
    (alert,) = n.alerts
    assert alert.rule == RECEIVER_ALERT
    assert dict(alert.labels)["receiver"] == "pagerduty"
    assert alert.annotations["summary"] == (
        "Receiver pagerduty cannot send: PAGERDUTY_ROUTING_KEY is not set "
        f"({tmp_path}/notify.yaml:10:17). Pages routed to it are not delivered"
    )


def test_no_alert_when_every_routed_receiver_can_send(tmp_path: Path) -> None:
    loaded = config(tmp_path, {"PAGERDUTY_ROUTING_KEY": "a" * 32})
    notifier = Notifier(loaded, {}, unavailable=loaded.unavailable)

    assert loaded.unavailable == ()
    assert not notifier.step({}, [], T0).outbox
