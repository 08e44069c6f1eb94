"""How the SQLite store's values become rows and columns, and come back exactly equal.

Times are ISO text in UTC to the microsecond, except in the rows every tick may write (alert
states, series points), where they are whole microseconds since the Unix epoch, cheaper to
write, compare and read back; enums are their values, labels JSON pairs. A
notification or a group is one compact JSON text: it is only ever read whole, and only the
columns the store queries on are kept beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from alertd.model import (
    AlertSnapshot,
    AlertState,
    Change,
    Delivery,
    GroupState,
    Labels,
    Notification,
    OutboxEntry,
    SeriesPoint,
    Severity,
    SilenceRecord,
    Status,
    Transition,
)
from alertd.store.base import as_utc

Row = tuple[Any, ...]
Json = dict[str, Any]

STATE_COLUMNS = (
    "fingerprint, rule, labels, status, severity, active_since, firing_since, last_breach,"
    " last_seen, last_eval, value, samples, evidence"
)
TRANSITION_COLUMNS = (
    "at, fingerprint, rule, labels, change, previous, status, severity, previous_severity,"
    " value, threshold, reason"
)
POINT_COLUMNS = "fingerprint, at, value, samples"
GROUP_COLUMNS = "key, receiver, state"
OUTCOME_COLUMNS = "status, attempts, last_error, next_attempt_at, finished_at, ref"
ENTRY_COLUMNS = f"id, receiver, group_key, created_at, notification, expires_at, {OUTCOME_COLUMNS}"
SILENCE_COLUMNS = "id, matchers, starts_at, ends_at, created_by, comment"


def encode_state(s: AlertState) -> Row:
    """The row of `s`, in `STATE_COLUMNS` order."""
    times = (s.active_since, s.firing_since, s.last_breach, s.last_seen, s.last_eval)
    return (
        s.fingerprint,
        s.rule,
        labels_text(s.labels),
        s.status.value,
        _enum_text(s.severity),
        *(_optional_micros(t) for t in times),
        _number_cell(s.value),
        s.samples,
        s.evidence,
    )


def decode_state(row: Row) -> AlertState:
    fp, rule, labels, status, severity, *times, value, samples, evidence = row
    active_since, firing_since, last_breach, last_seen, last_eval = map(_optional_instant, times)
    return AlertState(
        fingerprint=fp,
        rule=rule,
        labels=_labels(labels),
        status=Status(status),
        severity=_severity(severity),
        active_since=active_since,
        firing_since=firing_since,
        last_breach=last_breach,
        last_seen=last_seen,
        last_eval=last_eval,
        value=_number(value),
        samples=samples,
        evidence=evidence,
    )


def encode_transition(t: Transition) -> Row:
    """The row of `t`, in `TRANSITION_COLUMNS` order."""
    return (
        time_text(t.at),
        t.fingerprint,
        t.rule,
        labels_text(t.labels),
        t.change.value,
        t.previous.value,
        t.status.value,
        _enum_text(t.severity),
        _enum_text(t.previous_severity),
        _number_cell(t.value),
        t.threshold,
        t.reason,
    )


def decode_transition(row: Row) -> Transition:
    at, fp, rule, labels, change, previous, status, severity, previous_severity, *rest = row
    value, threshold, reason = rest
    return Transition(
        at=_time(at),
        fingerprint=fp,
        rule=rule,
        labels=_labels(labels),
        change=Change(change),
        previous=Status(previous),
        status=Status(status),
        severity=_severity(severity),
        previous_severity=_severity(previous_severity),
        value=_number(value),
        threshold=threshold,
        reason=reason,
    )


def encode_point(p: SeriesPoint) -> Row:
    """The row of `p`, in `POINT_COLUMNS` order."""
    return (p.fingerprint, micros(p.at), _number_cell(p.value), p.samples)


def decode_point(row: Row) -> SeriesPoint:
    fp, at, value, samples = row
    return SeriesPoint(fp, instant(at), _number(value), samples)


def encode_group(g: GroupState) -> Row:
    """The row of `g`, in `GROUP_COLUMNS` order."""
    state = {
        "key": g.key,
        "receiver": g.receiver,
        "group_labels": _pairs(g.group_labels),
        "first_seen": time_text(g.first_seen),
        "last_flush": _optional_text(g.last_flush),
        "notified": [_snapshot_json(a) for a in g.notified],
    }
    return (g.key, g.receiver, _dumps(state))


def decode_group(text: str) -> GroupState:
    """The group whose JSON text is `text` (the `state` column)."""
    state = json.loads(text)
    return GroupState(
        key=state["key"],
        receiver=state["receiver"],
        group_labels=_labels_of(state["group_labels"]),
        first_seen=_time(state["first_seen"]),
        last_flush=_optional_time(state["last_flush"]),
        notified=tuple(_snapshot(a) for a in state["notified"]),
    )


def encode_entry(e: OutboxEntry) -> Row:
    """The row of `e`, in `ENTRY_COLUMNS` order."""
    n = e.notification
    notification = {
        "id": n.id,
        "receiver": n.receiver,
        "group_key": n.group_key,
        "group_labels": _pairs(n.group_labels),
        "firing": n.firing,
        "alerts": [_snapshot_json(a) for a in n.alerts],
        "created_at": time_text(n.created_at),
        "status_url": n.status_url,
        "test": n.test,
    }
    return (
        n.id,
        n.receiver,
        n.group_key,
        time_text(n.created_at),
        _dumps(notification),
        time_text(e.expires_at),
        *encode_outcome(e),
    )


def encode_outcome(e: OutboxEntry) -> Row:
    """What a delivery attempt changes in `e`'s row, in `OUTCOME_COLUMNS` order."""
    return (
        e.status.value,
        e.attempts,
        e.last_error,
        time_text(e.next_attempt_at),
        _optional_text(e.finished_at),
        e.ref,
    )


def decode_entry(row: Row) -> OutboxEntry:
    """The entry in `row`, read in `ENTRY_COLUMNS` order; the notification from its JSON."""
    _, _, _, _, notification, expires_at, *outcome = row
    status, attempts, last_error, next_attempt_at, finished_at, ref = outcome
    return OutboxEntry(
        notification=_notification(json.loads(notification)),
        expires_at=_time(expires_at),
        next_attempt_at=_time(next_attempt_at),
        status=Delivery(status),
        attempts=attempts,
        last_error=last_error,
        finished_at=_optional_time(finished_at),
        ref=ref,
    )


def encode_silence(s: SilenceRecord) -> Row:
    """The row of `s`, in `SILENCE_COLUMNS` order."""
    matchers = _dumps(list(s.matchers))
    return (s.id, matchers, time_text(s.starts_at), time_text(s.ends_at), s.created_by, s.comment)


def decode_silence(row: Row) -> SilenceRecord:
    silence_id, matchers, starts_at, ends_at, created_by, comment = row
    return SilenceRecord(
        id=silence_id,
        matchers=tuple(str(m) for m in json.loads(matchers)),
        starts_at=_time(starts_at),
        ends_at=_time(ends_at),
        created_by=created_by,
        comment=comment,
    )


def time_text(at: dt.datetime) -> str:
    """`at` as stored: fixed width with microseconds and +00:00, so text order is time order."""
    return as_utc(at).isoformat(timespec="microseconds")


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_MICROSECOND = dt.timedelta(microseconds=1)


def micros(at: dt.datetime) -> int:
    """`at` as stored in an integer column: whole microseconds since the Unix epoch."""
    return (as_utc(at) - EPOCH) // ONE_MICROSECOND


def instant(cell: int) -> dt.datetime:
    """The instant an integer column holds (`micros`), in UTC."""
    return EPOCH + dt.timedelta(microseconds=cell)


def labels_text(labels: Labels) -> str:
    """`labels` as stored: JSON pairs, in their order, so they read back equal."""
    return _dumps(_pairs(labels))


def _notification(n: Json) -> Notification:
    return Notification(
        id=n["id"],
        receiver=n["receiver"],
        group_key=n["group_key"],
        group_labels=_labels_of(n["group_labels"]),
        firing=n["firing"],
        alerts=tuple(_snapshot(a) for a in n["alerts"]),
        created_at=_time(n["created_at"]),
        status_url=n["status_url"],
        test=n["test"],
    )


def _snapshot_json(a: AlertSnapshot) -> Json:
    return {
        "fingerprint": a.fingerprint,
        "rule": a.rule,
        "labels": _pairs(a.labels),
        "firing": a.firing,
        "severity": _enum_text(a.severity),
        "value": _json_number(a.value),
        "threshold": a.threshold,
        "unit": a.unit,
        # An object in the order the rule wrote them, which is the order receivers show.
        "annotations": dict(a.annotations),
        "starts_at": time_text(a.starts_at),
        "ends_at": _optional_text(a.ends_at),
        "last_value": _json_number(a.last_value),
        "note": a.note,
        "links": _pairs(a.links),
        "evidence": a.evidence,
    }


def _snapshot(a: Json) -> AlertSnapshot:
    return AlertSnapshot(
        fingerprint=a["fingerprint"],
        rule=a["rule"],
        labels=_labels_of(a["labels"]),
        firing=a["firing"],
        severity=_severity(a["severity"]),
        value=_number(a["value"]),
        threshold=a["threshold"],
        unit=a.get("unit"),
        annotations={str(k): str(v) for k, v in a["annotations"].items()},
        starts_at=_time(a["starts_at"]),
        ends_at=_optional_time(a["ends_at"]),
        # Rows written before these fields existed read as none.
        last_value=_number(a.get("last_value")),
        note=str(a.get("note", "")),
        links=_labels_of(a.get("links", [])),
        evidence=str(a.get("evidence", "")),
    )


def _dumps(value: object) -> str:
    # allow_nan=False: the text stays standard JSON; non-finite numbers travel as text.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _pairs(labels: Labels) -> list[list[str]]:
    return [list(pair) for pair in labels]


def _labels(text: str) -> Labels:
    return _labels_of(json.loads(text))


def _labels_of(pairs: list[list[str]]) -> Labels:
    return tuple((str(name), str(value)) for name, value in pairs)


def _optional_text(at: dt.datetime | None) -> str | None:
    return None if at is None else time_text(at)


def _optional_micros(at: dt.datetime | None) -> int | None:
    return None if at is None else micros(at)


def _optional_instant(cell: int | None) -> dt.datetime | None:
    return None if cell is None else instant(cell)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else _time(text)


def _enum_text(member: Severity | None) -> str | None:
    return None if member is None else member.value


def _severity(text: str | None) -> Severity | None:
    return None if text is None else Severity(text)


def _number_cell(value: float | None) -> float | str | None:
    # SQLite stores a bound NaN as NULL, which would read back as "no value"; NaN travels
    # as the text 'nan' instead (±inf are REALs SQLite keeps).
    if value is not None and math.isnan(value):
        return "nan"
    return value


def _json_number(value: float | None) -> float | str | None:
    # JSON has no NaN or infinity: those travel as 'nan', 'inf' and '-inf'.
    if value is not None and not math.isfinite(value):
        return repr(float(value))
    return value


def _number(cell: float | str | None) -> float | None:
    return None if cell is None else float(cell)
