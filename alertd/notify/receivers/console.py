"""The console receiver: each notification printed, as readable lines or one JSON object."""

from __future__ import annotations

from typing import Any, Literal, TextIO

from alertd.model import Notification
from alertd.notify.receivers import render
from alertd.notify.receivers.base import (
    BuildContext,
    Delivered,
    Payload,
    ReceiverKind,
    json_payload,
)
from alertd.notify.receivers.digest import Digest
from alertd.notify.receivers.fields import Integration
from alertd.terminal import labels_line, printable, value_line


class ConsoleConfig(Integration):
    """Lines on standard output: readable text, or one JSON object per line."""

    format: Literal["text", "json"] = "text"


def build(config: ConsoleConfig, context: BuildContext) -> ConsoleReceiver:
    json_lines = context.json_lines or config.format == "json"
    return ConsoleReceiver(context.name, context.out, json_lines=json_lines)


class ConsoleReceiver:
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
            shown = labels_line(
                (k, v) for k, v in alert.labels if k not in ("alertname", "severity")
            )
            value = value_line(alert.value, alert.unit)
            if alert.firing and alert.threshold:
                value += f" (threshold {printable(alert.threshold)})"
            if not alert.firing:
                value += f" at resolution, last firing {value_line(alert.last_value, alert.unit)}"
            if alert.note:
                value += f" [{printable(alert.note)}]"
            summary = printable(alert.annotations.get("summary", ""))
            rule = printable(alert.rule)
            lines.append(
                f"    {state:<8} {severity:<8} {rule} {{{shown}}} value={value}  {summary}"
            )
            if alert.evidence:
                lines.append(f"             evidence: {printable(alert.evidence)}")
        return Payload("console:", "\n".join(lines).encode())

    def render_digest(self, digest: Digest) -> Payload:
        """A digest as indented lines under its headings, or one JSON object."""
        if self.json_lines:
            sections = [{"heading": h, "lines": list(lines)} for h, lines in digest.sections]
            body = {"receiver": self.name, "kind": "digest", "title": digest.title}
            return json_payload("console:", {**body, "sections": sections})
        out = [f"[REPORT] {printable(digest.title)} to {printable(self.name)}"]
        for heading, lines in digest.sections:
            out += [f"  {printable(heading)}", *(f"    {printable(line)}" for line in lines)]
        return Payload("console:", "\n".join(out).encode())

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
                "evidence": a.evidence or None,
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


# Printing is not rate limited in practice.
KIND = ReceiverKind("console", ConsoleConfig, build, rate=1000.0)
