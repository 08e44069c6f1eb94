"""The text console prints data escaped: a label cannot forge a line or drive the terminal."""

from __future__ import annotations

import datetime as dt
import io

import anyio
import pytest

from alertd.engine.printer import TransitionPrinter
from alertd.model import AlertSnapshot, Change, Notification, Severity, Status, Transition
from alertd.notify.receivers.console import ConsoleReceiver

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
FORGED = "users\n2026-11-28 03:00:00Z FIRING   critical Fake {}\n[FIRING] fake"
CONTROL = "\x1b[2J\x1b[31mred\x07\r\t\x7f\x85\x9b\u2028\u2029"


def transition(labels: tuple[tuple[str, str], ...], reason: str = "") -> Transition:
    return Transition(
        T0, "fp", "SlowQueryP95", labels, Change.FIRING, Status.PENDING, Status.FIRING,
        Severity.CRITICAL, None, 250.0, "> 200\n[FIRING] x", reason,
    )  # fmt: skip


def notification(labels: tuple[tuple[str, str], ...], summary: str) -> Notification:
    alert = AlertSnapshot(
        "fp", "SlowQueryP95", (("alertname", "SlowQueryP95"), *labels), True,
        Severity.CRITICAL, 250.0, "> 200", {"summary": summary}, T0,
    )  # fmt: skip
    return Notification("n1", "console", "g", (), True, (alert,), T0)


def printed_by_receiver(n: Notification) -> str:
    out = io.StringIO()
    receiver = ConsoleReceiver("console", out)
    anyio.run(receiver.send, receiver.render(n))
    return out.getvalue()


def test_a_newline_in_a_label_prints_on_one_line() -> None:
    out = io.StringIO()
    TransitionPrinter(out).emit(transition((("table", "\n[FIRING] fake"),)))
    assert out.getvalue().count("\n") == 1
    assert 'table="\\n[FIRING] fake"' in out.getvalue()


@pytest.mark.parametrize("text", [FORGED, CONTROL])
def test_no_control_character_from_data_reaches_the_transition_line(text: str) -> None:
    out = io.StringIO()
    TransitionPrinter(out).emit(transition(((text, text),), reason=text))
    line = out.getvalue()
    assert line.endswith("\n")
    assert not [c for c in line[:-1] if c.isprintable() is False and c != " "]


@pytest.mark.parametrize("text", [FORGED, CONTROL])
def test_no_control_character_from_data_reaches_a_notification(text: str) -> None:
    printed = printed_by_receiver(notification((("table", text),), summary=text))
    header, alert_line, end = printed.split("\n")
    assert (header, end) == ("[FIRING:1] notification to console", "")
    assert not [c for c in alert_line if not c.isprintable()]


def test_escapes_are_readable_and_quotes_cannot_close_a_label() -> None:
    printed = printed_by_receiver(notification((("table", 'a"b\\c\x1b[31m'),), "x\ny"))
    assert 'table="a\\"b\\\\c\\x1b[31m"' in printed
    assert printed.rstrip("\n").endswith("x\\ny")


def test_json_lines_stay_json_escaped() -> None:
    out = io.StringIO()
    TransitionPrinter(out, json_lines=True).emit(transition((("table", CONTROL),)))
    assert out.getvalue().count("\n") == 1
    assert "\x1b" not in out.getvalue()
