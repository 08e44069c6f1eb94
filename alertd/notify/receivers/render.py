"""The words every receiver shows for a notification: title, alert lines, labels, times.

Plain text only: each receiver escapes or wraps these for its own markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

from alertd.model import AlertSnapshot, Notification, Severity
from alertd.rules.units import number_text, value_in_unit

ELLIPSIS = "…"
# Alertmanager's own label for the rule name; a group keyed on it repeats the rule.
ALERTNAME = "alertname"


def title(n: Notification) -> str:
    """`[FIRING:2] SlowQueryP95 (table=users)`, `[RESOLVED] …`, prefixed `[TEST]` for tests."""
    status = f"[FIRING:{len(firing(n))}]" if n.firing else "[RESOLVED]"
    shown = [(k, v) for k, v in n.group_labels if k != ALERTNAME]
    scope = f" ({labels_text(shown)})" if shown else ""
    prefix = "[TEST] " if n.test else ""
    return f"{prefix}{status} {', '.join(rules(n)) or 'alert'}{scope}"


def rules(n: Notification) -> list[str]:
    """The distinct rule names of a notification's alerts, in order of appearance."""
    return list(dict.fromkeys(a.rule for a in n.alerts))


def firing(n: Notification) -> tuple[AlertSnapshot, ...]:
    return tuple(a for a in n.alerts if a.firing)


def resolved(n: Notification) -> tuple[AlertSnapshot, ...]:
    return tuple(a for a in n.alerts if not a.firing)


def severity(n: Notification) -> Severity | None:
    """The worst severity among the firing alerts; None when nothing fires or none is set."""
    levels = [a.severity for a in firing(n) if a.severity is not None]
    return max(levels, key=lambda s: s.rank, default=None)


def headline(a: AlertSnapshot) -> str:
    """`SlowQueryP95 · critical · 212.35 ms (threshold > 200 ms)`, with why it still fires
    when the value alone looks clear; a resolve says `resolved (was warning) · 95 ms at
    resolution · last firing 157.33 ms`."""
    if not a.firing:
        was = f" (was {a.severity.value})" if a.severity else ""
        parts = [a.rule, f"resolved{was}"]
        if a.value is not None:
            parts.append(f"{value_text(a.value, a.unit)} at resolution")
        if a.note:
            parts.append(a.note)
        parts.append(f"last firing {value_text(a.last_value, a.unit)}")
        return " · ".join(parts)
    level = a.severity.value if a.severity else "firing"
    threshold = f" (threshold {a.threshold})" if a.threshold else ""
    note = f" · {a.note}" if a.note else ""
    return f"{a.rule} · {level} · {value_text(a.value, a.unit)}{threshold}{note}"


def alert_labels(a: AlertSnapshot) -> dict[str, str]:
    """The alert's labels as Alertmanager's consumers expect: with `alertname` and, when
    the rule does not set it, `severity`."""
    labels = {ALERTNAME: a.rule, **dict(a.labels)}
    if a.severity is not None:
        labels.setdefault("severity", a.severity.value)
    return labels


def alert_url(n: Notification, a: AlertSnapshot) -> str | None:
    """The alert's page on alertd's status server (`ALERTD_EXTERNAL_URL`), if it has one."""
    if not n.status_url:
        return None
    return f"{n.status_url.rstrip('/')}/alerts/{a.fingerprint}"


def links(n: Notification, a: AlertSnapshot) -> list[tuple[str, str]]:
    """(title, URL) of every link an alert carries: its page, then its runbook and others."""
    page = alert_url(n, a)
    return [*([("Alert page", page)] if page else []), *a.links]


def group_links(n: Notification) -> list[tuple[str, str]]:
    """The links of a notification's alerts, each URL once, in order: what a receiver
    with one row of buttons shows. A single alert's page comes first."""
    seen: dict[str, str] = {}
    for a in n.alerts:
        for text, url in links(n, a):
            seen.setdefault(url, text if len(n.alerts) == 1 else f"{text}: {a.rule}")
    return [(text, url) for url, text in seen.items()]


def value_text(value: float | None, unit: str | None = None) -> str:
    """A value as people read it: `212.35`, `1,234,567`, `0.0512`, `11.8 %`, `no data`."""
    if value is None:
        return "no data"
    return number_text(value) if unit is None else value_in_unit(value, unit)


def labels_text(labels: Iterable[tuple[str, str]]) -> str:
    """`table=users, env=prod`."""
    return ", ".join(f"{k}={v}" for k, v in labels)


def since_text(a: AlertSnapshot) -> str:
    """When the alert started (and ended), in UTC to the second."""
    started = f"since {_utc(a.starts_at):%Y-%m-%d %H:%M:%S} UTC"
    if a.ends_at is None:
        return started
    return f"{started}, ended {_utc(a.ends_at):%Y-%m-%d %H:%M:%S} UTC"


def summary(a: AlertSnapshot) -> str:
    return a.annotations.get("summary", "")


def description(a: AlertSnapshot) -> str:
    return a.annotations.get("description", "")


def annotations_with_evidence(a: AlertSnapshot) -> dict[str, str]:
    """The alert's annotations as Alertmanager's data model carries them: the rule's, and
    `evidence` when the rule weighs its sampled rows (a rule's own `evidence` wins)."""
    shown = dict(a.annotations)
    if a.evidence:
        shown.setdefault("evidence", a.evidence)
    return shown


def common(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The pairs that every one of `maps` holds with the same value."""
    shared: dict[str, str] | None = None
    for entries in maps:
        if shared is None:
            shared = dict(entries)
        else:
            shared = {k: v for k, v in shared.items() if entries.get(k) == v}
    return shared or {}


def rfc3339(moment: dt.datetime) -> str:
    """`2025-03-01T12:00:00.123456Z`: UTC with a `Z`, as Alertmanager and PagerDuty expect."""
    return _utc(moment).isoformat().replace("+00:00", "Z")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what JavaScript services count, never less than len()."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def truncate(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """`text` cut to at most `limit` by `measure`, ending in `…` when it was cut."""
    if measure(text) <= limit:
        return text
    room = limit - measure(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for ch in text:
        used += measure(ch)
        if used > room:
            break
        kept.append(ch)
    return "".join(kept) + ELLIPSIS if room >= 0 else ""


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
