"""PagerDuty's `source`, `component`, `group` and `class`: alertd's defaults, or the
receiver's own strings and templates over the group, checked with file:line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from alertd.cli import main
from alertd.notify.build import build_receivers, notify_config
from alertd.notify.receivers import PagerDutyReceiver
from tests.notify.fakes import alert, notification

RULES = Path(__file__).parents[2] / "rules"
NOTIFY = """\
receivers:
  - name: console
    console: {{}}
  - name: pager
    pagerduty:
      routing_key: "pdROUTINGkeySECRET00000000000001"
{settings}
route:
  receiver: pager
"""


def rules_with(tmp_path: Path, settings: str) -> Path:
    shutil.copy(RULES / "datasets.yaml", tmp_path / "datasets.yaml")
    (tmp_path / "notify.yaml").write_text(NOTIFY.format(settings=settings))
    return tmp_path


def fields(receiver: PagerDutyReceiver) -> dict[str, str]:
    n = notification(alert(labels=(("table", "users"), ("team", "database"))))
    payload: dict[str, str] = receiver.render(n).json()["payload"]
    return {k: payload[k] for k in ("source", "component", "group", "class") if k in payload}


def test_the_defaults_are_alertd_the_group_labels_the_team_and_the_rules() -> None:
    receiver = PagerDutyReceiver("ops", SecretStr("k" * 32), client=httpx.AsyncClient())

    assert fields(receiver) == {
        "source": "alertd",
        "component": "table=users",
        "group": "database",
        "class": "SlowQueryP95",
    }


@pytest.mark.anyio
async def test_strings_and_templates_over_the_group_replace_them(tmp_path: Path) -> None:
    settings = (
        '      source: "pitchey-{{ common_labels.team }}"\n'
        '      component: "{{ group_labels.table }} table"\n'
        "      group: database-oncall\n"
        "      class: \"{{ rules | join(', ') }} ({{ severity }})\""
    )
    config, errors = notify_config([rules_with(tmp_path, settings)])
    assert errors == []
    assert config is not None
    async with httpx.AsyncClient() as client:
        receivers, _ = build_receivers(config, client, out=io.StringIO())
        pager = receivers["pager"]
        assert isinstance(pager, PagerDutyReceiver)

        assert fields(pager) == {
            "source": "pitchey-database",
            "component": "users table",
            "group": "database-oncall",
            "class": "SlowQueryP95 (critical)",
        }


def test_a_template_naming_what_a_group_lacks_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = '      source: alertd\n      component: "{{ labels.table }}"'

    assert main(["check", str(rules_with(tmp_path, settings))]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"{tmp_path}/notify.yaml:8:19: receivers[1].pagerduty.component: receiver 'pager': "
        "template: unknown variable labels (known: alerts, common_annotations, common_labels, "
        "external_url, firing, group_labels, receiver, rules, severity, status)"
    )


def test_a_template_that_does_not_compile_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(rules_with(tmp_path, '      class: "{{ rules | join(}}"'))]) == 1

    (line, _) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"{tmp_path}/notify.yaml:7:15: receivers[1].pagerduty.class: receiver 'pager': template:"
    )
