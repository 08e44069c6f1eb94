"""Transitions as the commands print them: one readable line, or one JSON object, each."""

from __future__ import annotations

import json
from typing import Any, TextIO

from alertd.model import Change, Transition
from alertd.terminal import labels_line, printable, value_line

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
    labels = labels_line(transition.labels)
    severity = transition.severity.value if transition.severity else "-"
    value = value_line(transition.value, transition.unit)
    threshold = f" ({printable(transition.threshold)})" if transition.threshold else ""
    reason = f" [{printable(transition.reason)}]" if transition.reason else ""
    stamp = transition.at.strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        f"{stamp} {_WORDS[transition.change]} {severity:<8} {printable(transition.rule)} "
        f"{{{labels}}} value={value}{threshold}{reason}"
    )


class TransitionPrinter:
    """Writes transitions to a stream, flushing each so a pipe sees them at once."""

    def __init__(self, out: TextIO, *, json_lines: bool = False) -> None:
        self.out = out
        self.json_lines = json_lines

    def emit(self, transition: Transition) -> None:
        text = json.dumps(as_json(transition)) if self.json_lines else as_line(transition)
        print(text, file=self.out, flush=True)
