"""The console receiver: one readable line, or one JSON object, per transition."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from alertd.model import Change, Notification, Transition
from alertd.notify.receivers import render
from alertd.notify.receivers.base import Delivered, Payload, json_payload
from alertd.rules.units import value_in_unit

# Control characters from data could end a line early and forge another, or drive the
# terminal (ANSI escapes): each prints as an escape, so one alert stays one line.
_ESCAPES = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(chr(code), repr(chr(code))[1:-1])
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}
_LABEL_ESCAPES = {**_ESCAPES, ord("\\"): "\\\\", ord('"'): '\\"'}


def printable(text: str) -> str:
    """`text` with control characters and line separators escaped as `\\n`, `\\x1b`."""
    return text.translate(_ESCAPES)


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'{printable(k)}="{v.translate(_LABEL_ESCAPES)}"' for k, v in pairs)


_WORDS = {
    Change.PENDING: "PENDING ",
    Change.FIRING: "FIRING  ",
    Change.ESCALATED: "ESCALATE",
    Change.DEESCALATED: "DEESCAL ",
    Change.RESOLVED: "RESOLVED",
    Change.CANCELLED: "CANCEL  ",
}


def as_json(transition: Transition) -> dict[str, Any]:
    """The transition as backtests print it."""
    return {
        "at": transition.at.isoformat().replace("+00:00", "Z"),
        "alert": transition.rule,
        "labels": dict(transition.labels),
        "from": transition.previous.value,
        "to": "resolved" if transition.change is Change.RESOLVED else transition.status.value,
        "change": transition.change.value,
        "severity": transition.severity.value if transition.severity else None,
        "value": transition.value,
        "unit": transition.unit,
        "threshold": transition.threshold,
        "reason": transition.reason or None,
    }


def as_line(transition: Transition) -> str:
    labels = _labels(transition.labels)
    severity = transition.severity.value if transition.severity else "-"
    value = _value(transition.value, transition.unit)
    threshold = f" ({printable(transition.threshold)})" if transition.threshold else ""
    reason = f" [{printable(transition.reason)}]" if transition.reason else ""
    stamp = transition.at.strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        f"{stamp} {_WORDS[transition.change]} {severity:<8} {printable(transition.rule)} "
        f"{{{labels}}} value={value}{threshold}{reason}"
    )


def _value(value: float | None, unit: str | None) -> str:
    if value is None:
        return "no data"
    return f"{value:.4g}" if unit is None else printable(value_in_unit(value, unit))


class ConsoleReceiver:
    """Writes transitions to a stream, flushing each so a pipe sees them at once."""

    def __init__(self, out: TextIO, *, json_lines: bool = False) -> None:
        self.out = out
        self.json_lines = json_lines

    def emit(self, transition: Transition) -> None:
        text = json.dumps(as_json(transition)) if self.json_lines else as_line(transition)
        print(text, file=self.out, flush=True)


class ConsoleNotifications:
    """A receiver that prints each notification: one line per alert, or one JSON object."""

    def __init__(self, name: str, out: TextIO, *, json_lines: bool = False) -> None:
        self.name = name
        self.out = out
        self.json_lines = json_lines

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        if self.json_lines:
            return json_payload("console:", {"receiver": n.receiver, **notification_json(n)})
        head = "[TEST] " if n.test else ""
        kind = "FIRING" if n.firing else "RESOLVED"
        lines = [f"{head}[{kind}:{len(n.alerts)}] notification to {printable(n.receiver)}"]
        for alert in n.alerts:
            state = "firing" if alert.firing else "resolved"
            severity = alert.severity.value if alert.severity else "-"
            shown = _labels((k, v) for k, v in alert.labels if k not in ("alertname", "severity"))
            value = _value(alert.value, alert.unit)
            if alert.firing and alert.threshold:
                value += f" (threshold {printable(alert.threshold)})"
            if not alert.firing:
                value += f" at resolution, last firing {_value(alert.last_value, alert.unit)}"
            if alert.note:
                value += f" [{printable(alert.note)}]"
            summary = printable(alert.annotations.get("summary", ""))
            rule = printable(alert.rule)
            lines.append(
                f"    {state:<8} {severity:<8} {rule} {{{shown}}} value={value}  {summary}"
            )
        return Payload("console:", "\n".join(lines).encode())

    def redact(self, text: str) -> str:
        return text  # the console has no credentials

    async def send(self, payload: Payload) -> Delivered:
        print(payload.body.decode(), file=self.out, flush=True)
        return Delivered()


def notification_json(n: Notification) -> dict[str, Any]:
    """A notification as plain JSON: what backtests print and the console receiver writes."""
    return {
        "id": n.id,
        "group": n.group_key,
        "group_labels": dict(n.group_labels),
        "kind": "firing" if n.firing else "resolved",
        "created_at": n.created_at.isoformat().replace("+00:00", "Z"),
        "test": n.test,
        "alerts": [
            {
                "alert": a.rule,
                "labels": dict(a.labels),
                "status": "firing" if a.firing else "resolved",
                "severity": a.severity.value if a.severity else None,
                "value": a.value,
                "last_value": a.last_value,
                "note": a.note,
                "unit": a.unit,
                "threshold": a.threshold,
                "annotations": dict(a.annotations),
                "starts_at": a.starts_at.isoformat().replace("+00:00", "Z"),
                "ends_at": a.ends_at.isoformat().replace("+00:00", "Z") if a.ends_at else None,
                "links": [{"text": text, "url": url} for text, url in render.links(n, a)],
            }
            for a in n.alerts
        ],
    }
