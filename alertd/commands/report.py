"""`alertd report daily|weekly`: build one performance report now, print it or send it."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from alertd.clock import SystemClock
from alertd.commands.arguments import time_option
from alertd.commands.environment import rules_dir_problem
from alertd.commands.notify_test import unusable
from alertd.errors import AlertdError
from alertd.notify.build import notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.receivers.digest import DigestReceiver
from alertd.notify.report_schedules import REPORT_KINDS
from alertd.pipeline import RECEIVER_TIMEOUT_SECONDS, build_source, receivers_for
from alertd.reports.build import build_report
from alertd.reports.figures import Kind, Report, as_json
from alertd.reports.send import deliver
from alertd.reports.terminal_text import render_text
from alertd.rules.loader import load
from alertd.settings import Settings
from alertd.store.opening import open_store


def run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    rules_dir: Path = args.rules or settings.rules_dir
    problem = rules_dir_problem(rules_dir) or settings.credentials_problem()
    if problem:
        print(problem, file=err)
        return 1
    try:
        at = time_option("--at", args.at) if args.at else SystemClock().now()
    except ValueError as exc:
        print(str(exc), file=err)
        return 2
    notify: NotifyConfig | None = None
    if args.send is not None:
        notify = _sendable(args.send, rules_dir, err)
        if notify is None:
            return 1
    try:
        report = anyio.run(_build, settings, rules_dir, Kind(args.kind), at.replace(microsecond=0))
    except AlertdError as exc:
        print(str(exc), file=err)
        return 1
    if notify is not None:
        return anyio.run(_send, notify, args.send, report, out, err)
    if args.json:
        print(json.dumps(as_json(report), indent=2), file=out)
    else:
        out.write(render_text(report))
    return 0


async def _build(settings: Settings, rules_dir: Path, kind: Kind, at: dt.datetime) -> Report:
    datasets = load([rules_dir]).ruleset.datasets
    source = build_source(settings, SystemClock())
    try:
        store = await open_store(settings)
        try:
            return await build_report(source, datasets, store, kind, at)
        finally:
            await store.aclose()
    finally:
        await source.aclose()


def _sendable(name: str, rules_dir: Path, err: TextIO) -> NotifyConfig | None:
    """The notification settings when `name` is a receiver that can show a report."""
    config, errors = notify_config([rules_dir])
    for error in errors:
        print(error, file=err)
    if config is None:
        return None
    problem = unusable(config, name)
    if problem is None and config.receivers[name].kind not in REPORT_KINDS:
        problem = f"receiver {name!r} cannot show a report; use a slack, teams or console receiver"
    if problem is not None:
        print(problem, file=err)
        return None
    return config


async def _send(config: NotifyConfig, name: str, report: Report, out: TextIO, err: TextIO) -> int:
    only = dataclasses.replace(config, receivers={name: config.receivers[name]})
    async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
        built = receivers_for(only, client, out, console_json=False)
        if isinstance(built, list):
            for error in built:
                print(f"receiver {name!r}: {error.message}", file=err)
            return 1
        receiver = built.by_name[name]
        assert isinstance(receiver, DigestReceiver)  # slack and teams receivers are
        try:
            await deliver(receiver, report, None)
        except AlertdError as exc:
            print(str(exc), file=err)
            return 1
    print(f"sent: {report.kind.value} report to {name}", file=out)
    return 0
