"""`alertd alerts`: the alerts pending and firing now, as the state store holds them, with
whether and why each is muted (a silence, an inhibiting alert, a mute time interval)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import anyio

from alertd.clock import Clock, SystemClock
from alertd.commands.silence_remote import RemoteError, RemoteSilences
from alertd.engine.source_health import lag_fingerprint
from alertd.errors import StoreError
from alertd.model import AlertState, Labels, SeriesPoint, Status
from alertd.notify.build import notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.matchers import Matcher, matches_all, with_identity
from alertd.notify.mutes import mutes
from alertd.notify.routing import route
from alertd.notify.silences import Silence, SilenceError, Silencer, from_record, parse_cli_matchers
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.notify.time_intervals import muted
from alertd.query.check import check_rules
from alertd.rules.ruleset import Rule
from alertd.rules.units import number_text, value_in_unit
from alertd.settings import Settings
from alertd.store.opening import open_store

COLUMNS = ("alert", "labels", "state", "severity", "value", "since", "muted")


@dataclass(frozen=True)
class Listed:
    """One current alert as listed."""

    state: AlertState
    labels: Labels
    unit: str | None
    muted: str | None


def run(
    args: argparse.Namespace,
    settings: Settings,
    out: TextIO,
    err: TextIO,
    clock: Clock | None = None,
) -> int:
    """0 listed (perhaps none), 1 the store or the files cannot be read, 2 a bad matcher."""
    now = (clock or SystemClock()).now()
    try:
        wanted = parse_cli_matchers(args.matchers)
    except SilenceError as exc:
        print(f"alertd alerts: matcher {exc}", file=err)
        return 2
    if getattr(args, "url", None):
        return _remote(args.url, wanted, args.json, out, err)
    paths = [args.rules or settings.rules_dir]
    config, errors = notify_config(paths)
    if config is None:
        for error in errors:
            print(error, file=err)
        return 1
    rules = {r.name: r for r in check_rules(paths).ruleset.rules}
    path = settings.state_file
    on_postgres = bool(settings.state_url.get_secret_value())
    if not on_postgres and not path.exists():  # reading must not create a store
        print(f"no state store at {path}, so no alerts", file=err)
        states: dict[str, AlertState] = {}
        silences: list[Silence] = []
        lags: dict[str, SeriesPoint] = {}
    else:
        datasets = sorted({d for rule in rules.values() for d in rule.datasets})
        try:
            states, silences, lags = anyio.run(_read, settings, now, datasets)
        except StoreError as exc:
            print(str(exc), file=err)
            return 1
    shown = [
        a for a in listed(states, silences, config, rules, now) if matches_all(wanted, a.labels)
    ]
    if args.json:
        print(json.dumps([as_json(a) for a in shown]), file=out)
        return 0
    if not shown:
        print("no alerts", file=out)
    else:
        _table([_row(a) for a in shown], out)
    for dataset, point in lags.items():
        print(f"source lag: {dataset} {_lag(point)}", file=out)
    return 0


def _lag(point: SeriesPoint) -> str:
    """How late the dataset's rows landed, as last measured."""
    seconds = "unknown" if point.value is None else f"{point.value:.0f} s"
    return f"{seconds} (measured at {_short(point.at)})"


def _remote(
    url: str, wanted: tuple[Matcher, ...], as_json_lines: bool, out: TextIO, err: TextIO
) -> int:
    """The firing alerts of the daemon at `url` (`--url`, ALERTD_URL), with why each is
    muted, from its Alertmanager-compatible API."""
    remote = RemoteSilences(url, None)
    try:
        found = remote.alerts()
    except RemoteError as exc:
        print(f"alertd alerts: {exc}", file=err)
        return 1
    finally:
        remote.close()
    rows = []
    for alert in found:
        labels = tuple(sorted(alert["labels"].items()))
        if not matches_all(wanted, labels):
            continue
        status = alert["status"]
        why = [
            *(f"silenced by {s}" for s in status["silencedBy"]),
            *(f"inhibited by {i}" for i in status["inhibitedBy"]),
            *(f"muted by {m}" for m in status.get("mutedBy", [])),
        ]
        rows.append(
            {
                "alert": alert["labels"].get("alertname", ""),
                "fingerprint": alert["fingerprint"],
                "labels": alert["labels"],
                "state": "firing",
                "severity": alert["labels"].get("severity"),
                "since": alert["startsAt"],
                "muted": bool(why),
                "muted_by": "; ".join(why) or None,
            }
        )
    if as_json_lines:
        print(json.dumps(rows), file=out)
    elif not rows:
        print("no alerts", file=out)
    else:
        _table(
            [
                [
                    r["alert"],
                    ", ".join(f"{k}={v}" for k, v in r["labels"].items() if k != "alertname"),
                    r["state"],
                    r["severity"] or "-",
                    "-",
                    r["since"],
                    f"yes: {r['muted_by']}" if r["muted"] else "no",
                ]
                for r in rows
            ],
            out,
        )
    return 0


def listed(
    states: Mapping[str, AlertState],
    silences: Sequence[Silence],
    config: NotifyConfig,
    rules: Mapping[str, Rule],
    now: dt.datetime,
) -> list[Listed]:
    """The pending and firing alerts, firing first, each with why it is muted, if it is."""
    current = [s for s in states.values() if s.status is not Status.INACTIVE]
    firing = [
        snapshot(s, rules.get(s.rule), threshold_text(rules.get(s.rule), s))
        for s in current
        if s.status is Status.FIRING and s.firing_since is not None
    ]
    why = {
        key: str(mute) for key, mute in mutes(firing, silences, config.inhibit_rules, now).items()
    }
    silencer = Silencer(silences, now, ())
    out = []
    for state in sorted(current, key=lambda s: (s.status is not Status.FIRING, s.rule, s.labels)):
        labels = with_identity(state.rule, state.labels, state.severity)
        reason = why.get(state.fingerprint)
        if reason is None and (silence := silencer.silencing(labels)) is not None:
            reason = f"silenced by {silence.id}"
        if reason is None:
            reason = _held_by_time_interval(config, labels, now)
        rule = rules.get(state.rule)
        out.append(Listed(state, labels, rule.unit if rule else None, reason))
    return out


def as_json(a: Listed) -> dict[str, Any]:
    s = a.state
    return {
        "alert": s.rule,
        "fingerprint": s.fingerprint,
        "labels": dict(a.labels),
        "state": s.status.value,
        "severity": s.severity.value if s.severity else None,
        "value": s.value,
        "unit": a.unit,
        "since": _iso(_since(s)),
        "muted": a.muted is not None,
        "muted_by": a.muted,
    }


def _held_by_time_interval(config: NotifyConfig, labels: Labels, now: dt.datetime) -> str | None:
    held = [
        m.route_id
        for m in route(config.route, labels)
        if muted(m.mute_time_intervals, m.active_time_intervals, config.time_intervals, now)
    ]
    return f"time interval on route {', '.join(held)}" if held else None


async def _read(
    settings: Settings, now: dt.datetime, datasets: Sequence[str]
) -> tuple[dict[str, AlertState], list[Silence], dict[str, SeriesPoint]]:
    """The alert states, the active silences, and each dataset's last measured lag."""
    store = await open_store(settings)
    try:
        states = await store.load()
        records = await store.silences(active_at=now)
        lags = {}
        for dataset in datasets:
            last = await store.history(lag_fingerprint(dataset), limit=1)
            if last:
                lags[dataset] = last[-1]
    finally:
        await store.aclose()
    return states, [from_record(r) for r in records], lags


def _row(a: Listed) -> list[str]:
    s = a.state
    labels = ", ".join(f"{k}={v}" for k, v in s.labels)
    return [
        s.rule,
        labels,
        s.status.value,
        s.severity.value if s.severity else "-",
        _value(s.value, a.unit),
        _short(_since(s)),
        f"yes: {a.muted}" if a.muted else "no",
    ]


def _value(value: float | None, unit: str | None) -> str:
    if value is None:
        return "no data"
    return number_text(value) if unit is None else value_in_unit(value, unit)


def _since(s: AlertState) -> dt.datetime:
    since = s.firing_since if s.status is Status.FIRING else s.active_since
    return since or s.last_eval or dt.datetime.min.replace(tzinfo=dt.UTC)


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    for row in [list(COLUMNS), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)


def _short(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
