"""`alertd routes`: the route tree, and where an alert with given labels goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main

NOTIFY = """\
receivers:
  - name: default
  - name: db
    webhook_configs: [{url: https://hooks.test/db}, {url: https://hooks.test/db2}]
  - name: pager
    pagerduty_configs: [{routing_key: "${PD_KEY}"}]
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: db
      match: {team: db}
      group_by: [alertname, table]
      continue: true
    - receiver: pager
      matchers: ['severity="critical"']
      repeat_interval: 1h
"""


@pytest.fixture
def notify_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PD_KEY", raising=False)
    path = tmp_path / "notify.yaml"
    path.write_text(NOTIFY)
    return path


def test_labels_print_each_receiver_reached_and_its_group_key(
    notify_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_KEY", "k" * 32)
    argv = ["routes", "--config", str(notify_file), "alertname=Slow", "team=db", "table=users"]
    assert main([*argv, 'severity="critical"']) == 0
    assert capsys.readouterr().out.splitlines() == [
        'db\t{}/{team="db"}:{alertname="Slow",table="users"}',
        'pager\t{}/{severity="critical"}:{alertname="Slow"}',
    ]
    assert main(["routes", "--config", str(notify_file), "team=web", "alertname=X"]) == 0
    assert capsys.readouterr().out == 'default\t{}:{alertname="X"}\n'


def test_a_receiver_that_cannot_send_is_passed_over(
    notify_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", "--config", str(notify_file), "severity=critical"]) == 0
    assert capsys.readouterr().out == "default\t{}:{}\n"


def test_the_tree_shows_each_route_and_what_it_changes(
    notify_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", "--tree", "--config", str(notify_file)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "{}  receiver: default  group_by: [alertname]  group_wait: 30s  group_interval: 5m  "
        "repeat_interval: 4h",
        '  {team="db"}  receiver: db  continue  group_by: [alertname, table]',
        '  {severity="critical"}  receiver: pager  '
        "(cannot send: passes alerts to its sub-routes only)  repeat_interval: 1h",
    ]


def test_bad_input_is_refused_in_one_line(
    notify_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", "--config", str(notify_file), "team"]) == 2
    assert capsys.readouterr().err == "alertd routes: 'team' is not LABEL=VALUE\n"
    broken = tmp_path / "broken.yaml"
    broken.write_text("receivers: [{name: a}]\nroute: {receiver: b}\n")
    assert main(["routes", "--config", str(broken)]) == 1
    assert capsys.readouterr().err == (
        f"{broken}:2:19: route.receiver: unknown receiver 'b' (defined: a)\n"
    )
