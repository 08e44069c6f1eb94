"""What a rule test expected beside what the replay found, in the same shape, and the
difference between them as a diff people read."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from alertd.model import AlertState, OutboxEntry
from alertd.notify.snapshots import rendered_annotations
from alertd.rules.durations import format_duration

from .spec import ExpectedAlert, ExpectedNotification


def expected_alert(alert: ExpectedAlert) -> dict[str, Any]:
    return alert.model_dump(exclude_none=True)


def found_alert(
    state: AlertState, rules: Mapping[str, Any], expected: Sequence[ExpectedAlert]
) -> dict[str, Any]:
    labels = dict(state.labels)
    got: dict[str, Any] = {"alert": state.rule, "state": state.status.value}
    twin = next((a for a in expected if a.alert == state.rule and a.labels == labels), None)
    # Severity and annotations are compared where the test names them.
    if state.severity is not None and (twin is None or twin.severity is not None):
        got["severity"] = state.severity.value
    got["labels"] = labels
    rule = rules.get(state.rule)
    if rule is not None and (twin is None or twin.annotations is not None):
        rendered = rendered_annotations(state, rule)
        if twin is not None and twin.annotations is not None:
            rendered = {k: v for k, v in rendered.items() if k in twin.annotations}
        got["annotations"] = rendered
    return got


def expected_notification(n: ExpectedNotification) -> dict[str, Any]:
    shown = n.model_dump(exclude_none=True)
    if n.at is not None:
        shown["at"] = format_duration(n.at)
    return shown


def found_notification(
    entry: OutboxEntry, start: dt.datetime, expected: ExpectedNotification | None
) -> dict[str, Any]:
    n = entry.notification
    got: dict[str, Any] = {"receiver": n.receiver, "kind": "firing" if n.firing else "resolved"}
    fields = {
        "at": format_duration(n.created_at - start),
        "group": dict(n.group_labels),
        "alerts": len(n.alerts),
    }
    for name, value in fields.items():
        if expected is None or getattr(expected, name) is not None:
            got[name] = value
    return got


def in_order(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(alerts, key=lambda a: (a["alert"], sorted(a.get("labels", {}).items())))


def difference(what: str, expected: Any, got: Any) -> str:
    left = yaml.safe_dump(expected, sort_keys=False, allow_unicode=True).splitlines()
    right = yaml.safe_dump(got, sort_keys=False, allow_unicode=True).splitlines()
    diff = difflib.unified_diff(left, right, "expected", "got", lineterm="", n=3)
    return f"{what} differ:\n" + "\n".join(diff)
