"""Receiver templates: Jinja over one notification in Alertmanager's data model.

A receiver's `title`, `text`, `summary`, `source`, … may be a template. They render in the
budgeted sandbox annotations use (`alertd.rules.sandbox`: bounded work and output, no
unsafe attribute), with the same `humanize` filters. Each is checked when the file loads
by rendering it against a sample notification, so a syntax error, an unknown variable,
field or filter, or a sandbox refusal is an error at its line; one that still fails on a
real notification's values falls back to the receiver's default text, and is logged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
from jinja2.exceptions import SecurityError, UndefinedError

from alertd.model import AlertSnapshot, Notification, Severity
from alertd.notify.receivers import render
from alertd.rules.templates import TemplateError, check_template
from alertd.rules.templates import render as render_template

log = structlog.get_logger(__name__)

# Alertmanager's names, then three kept from the first PagerDuty templates.
VARIABLES = frozenset(
    {
        "status",
        "receiver",
        "group_labels",
        "common_labels",
        "common_annotations",
        "external_url",
        "alerts",
        "rules",
        "severity",
        "firing",
    }
)


@dataclass(frozen=True)
class Wording:
    """A receiver's own `title` and `text` templates; None says it the default way."""

    title: str | None = None
    text: str | None = None


DEFAULT_WORDING = Wording()


def data(n: Notification, text: Callable[[str], str] = str) -> dict[str, Any]:
    """What a template sees of `n`; every string from data passes through `text` (the
    receiver's escaping, so data cannot become markup)."""
    labels = [render.alert_labels(a) for a in n.alerts]
    worst = render.severity(n)
    return {
        "status": "firing" if n.firing else "resolved",
        "receiver": text(n.receiver),
        "group_labels": _texts(dict(n.group_labels), text),
        "common_labels": _texts(render.common(labels), text),
        "common_annotations": _texts(
            render.common(render.annotations_with_evidence(a) for a in n.alerts), text
        ),
        "external_url": text(n.status_url or ""),
        "alerts": [_alert(n, a, text) for a in n.alerts],
        "rules": [text(rule) for rule in render.rules(n)],
        "severity": worst.value if worst else None,
        "firing": len(render.firing(n)),
    }


def _alert(n: Notification, a: AlertSnapshot, text: Callable[[str], str]) -> dict[str, Any]:
    return {
        "status": "firing" if a.firing else "resolved",
        "labels": _texts(render.alert_labels(a), text),
        "annotations": _texts(render.annotations_with_evidence(a), text),
        "starts_at": render.rfc3339(a.starts_at),
        "ends_at": render.rfc3339(a.ends_at) if a.ends_at else None,
        "generator_url": text(render.alert_url(n, a) or ""),
        "fingerprint": a.fingerprint,
        "value": a.value if a.value is None or math.isfinite(a.value) else str(a.value),
        "value_text": text(render.value_text(a.value, a.unit)),
        "threshold": text(a.threshold) if a.threshold else None,
        "unit": a.unit,
    }


def _texts(pairs: Mapping[str, str], text: Callable[[str], str]) -> dict[str, str]:
    return {text(k): text(v) for k, v in pairs.items()}


class _AnyName(dict[str, str]):
    """Labels and annotations of the sample: every name has a value."""

    def __missing__(self, key: str) -> str:
        return "example"


_T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_SAMPLE = Notification(
    "sample",
    "example",
    '{}:{alertname="Example"}',
    (("alertname", "Example"),),
    True,
    (
        AlertSnapshot(
            "0123456789abcdef",
            "Example",
            (("alertname", "Example"),),
            True,
            Severity.CRITICAL,
            212.5,
            "> 200",
            {"summary": "example"},
            _T0,
            unit="ms",
        ),
    ),
    _T0,
    status_url="https://alertd.example",
)


def _sample() -> dict[str, Any]:
    sample = data(_SAMPLE)
    for key in ("group_labels", "common_labels", "common_annotations"):
        sample[key] = _AnyName(sample[key])
    for alert in sample["alerts"]:
        alert["labels"] = _AnyName(alert["labels"])
        alert["annotations"] = _AnyName(alert["annotations"])
    return sample


def check(source: str) -> None:
    """Raise TemplateError (with the template's line) unless `source` renders a sample
    notification: it compiles, names only known variables, fields and filters, stays
    within the render budget and asks nothing the sandbox refuses."""
    sample = _sample()
    check_template(source, VARIABLES, sample)
    try:
        render_template(source, sample)
    except UndefinedError as exc:
        raise TemplateError(f"{exc.message} (on a sample notification)", _line(exc)) from None
    except SecurityError as exc:
        raise TemplateError(f"refused by the sandbox: {exc.message}", _line(exc)) from None
    except Exception:  # other failures depend on real values, unknown here
        pass


def _line(exc: Exception) -> int:
    """The template line a render failed on, from Jinja's rewritten traceback."""
    line = 1
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def fill(source: str | None, context: Mapping[str, Any], *, setting: str) -> str | None:
    """`source` rendered over a notification's `context` (from `data`); None when there is
    no template, or, logged, when it fails on this notification's values (the receiver
    then says what it says by default)."""
    if source is None:
        return None
    try:
        return render_template(source, context)
    except Exception as exc:  # a checked template can still fail on real values
        log.warning("receiver.template_failed", setting=setting, error=str(exc))
        return None


def title(n: Notification, filled: str | None) -> str:
    """A templated title, marked `[TEST]` as the default one is for a test notification;
    the default title when there is none."""
    if filled is None:
        return render.title(n)
    return f"[TEST] {filled}" if n.test else filled
