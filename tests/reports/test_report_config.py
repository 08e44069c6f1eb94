"""`reports:` in notify.yaml: checked with every error at its file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alertd.notify.config import load_notify

HEAD = """\
receivers:
  - name: slack-team
    slack: {webhook_url: "https://hooks.slack.com/services/T0/B0/x"}
  - name: pager
    pagerduty: {routing_key: "0123456789abcdef0123456789abcdef"}
route: {receiver: slack-team}
"""


def load(tmp_path: Path, reports: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "notify.yaml"
    path.write_text(HEAD + reports)
    return load_notify(path, {})


def test_a_daily_report_to_slack_is_loaded_with_its_zone(tmp_path: Path) -> None:
    config, errors = load(
        tmp_path,
        "reports:\n"
        '  - {kind: daily, cron: "0 8 * * *", timezone: Europe/Berlin, receiver: slack-team}\n',
    )
    assert errors == []
    (report,) = config.reports
    assert (report.kind, report.receiver, report.timezone) == (
        "daily",
        "slack-team",
        "Europe/Berlin",
    )
    after = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    assert report.next_after(after) == dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC)  # 08:00 CEST


def test_report_errors_name_file_line_and_field(tmp_path: Path) -> None:
    config, errors = load(
        tmp_path,
        "reports:\n"
        '  - {kind: daily, cron: "0 8 * * *", receiver: pager}\n'
        '  - {kind: weekly, cron: "0 8 * * funday", receiver: slack-team}\n'
        '  - {kind: daily, cron: "0 8 * * *", receiver: nobody}\n',
    )
    assert config is None
    shown = [str(e) for e in errors]
    assert len(shown) == 3, shown
    assert shown[0].startswith(f"{tmp_path / 'notify.yaml'}:8:")
    assert "reports[0].receiver: receiver 'pager' cannot show a report" in shown[0]
    assert ":9:" in shown[1]
    assert "reports[1].cron" in shown[1]
    assert "funday" in shown[1]
    assert ":10:" in shown[2]
    assert "unknown receiver 'nobody'" in shown[2]
