"""A ratio rule with percent thresholds is shown in percent on the console."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import anyio

from alertd.engine.printer import TransitionPrinter
from alertd.model import AlertSnapshot, AlertState, Notification, Severity, Status
from alertd.notify.receivers.console import ConsoleReceiver
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.rules.ruleset import Rule
from tests.engine.timeline import T0, Timeline, make_rule

RATIO_RULE = """\
    value: ratio(status == "error")
    thresholds: {critical: "> 5%"}
    annotations:
      summary: "{{ value | humanize_percentage }} of queries fail"
"""


def ratio_rule(tmp_path: Path) -> Rule:
    return make_rule(tmp_path, RATIO_RULE)


def firing_snapshot(rule: Rule, value: float = 0.118) -> AlertSnapshot:
    """The alert as the notifier would show it, built the way the notifier builds it."""
    state = AlertState(
        "fp", rule.name, (), Status.FIRING, Severity.CRITICAL, T0, T0, T0, T0, T0, value, 100
    )
    return snapshot(state, rule, threshold_text(rule, state))


def notification_of(*alerts: AlertSnapshot) -> Notification:
    return Notification("n1", "ops", "g", (), True, alerts, T0 + dt.timedelta(minutes=1))


def test_the_transition_line_shows_the_value_and_threshold_in_percent(tmp_path: Path) -> None:
    (fired,) = Timeline(ratio_rule(tmp_path)).feed([0.118])
    out = io.StringIO()
    TransitionPrinter(out).emit(fired)
    assert "value=11.8 % (> 5 %)" in out.getvalue()


def test_json_lines_keep_the_raw_value_and_name_the_unit(tmp_path: Path) -> None:
    (fired,) = Timeline(ratio_rule(tmp_path)).feed([0.118])
    out = io.StringIO()
    TransitionPrinter(out, json_lines=True).emit(fired)
    printed = json.loads(out.getvalue())
    assert (printed["value"], printed["unit"], printed["threshold"]) == (0.118, "percent", "> 5 %")


def test_a_notification_on_the_console_shows_value_and_threshold_in_percent(
    tmp_path: Path,
) -> None:
    n = notification_of(firing_snapshot(ratio_rule(tmp_path)))
    out = io.StringIO()
    receiver = ConsoleReceiver("console", out)
    anyio.run(receiver.send, receiver.render(n))
    assert "value=11.8 % (threshold > 5 %)  11.8% of queries fail" in out.getvalue()


def test_a_rule_without_a_unit_prints_as_before(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, '    value: p95(duration)\n    thresholds: {critical: "> 200"}\n')
    (fired,) = Timeline(rule).feed([212.3456])
    out = io.StringIO()
    TransitionPrinter(out).emit(fired)
    assert "value=212.3 (> 200)" in out.getvalue()
