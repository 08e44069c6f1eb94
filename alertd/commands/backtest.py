"""`alertd backtest`: print every transition the rules would have made over a time range."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TextIO

import anyio

from alertd.clock import SystemClock
from alertd.commands.query import parse_time
from alertd.daemon import build_source
from alertd.engine.backtest import backtest
from alertd.notify.console import ConsoleReceiver
from alertd.query.check import check_rules
from alertd.rules.durations import parse_duration
from alertd.settings import Settings


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = Settings()
    paths: list[Path] = [args.rules] if args.rules else [settings.rules_dir]
    loaded = check_rules(paths)
    if loaded.errors:
        for error in loaded.errors:
            print(error, file=err)
        return 1
    try:
        start, end = parse_time(args.start), parse_time(args.end)
        step = parse_duration(args.step) if args.step else None
    except ValueError as exc:
        print(str(exc), file=err)
        return 2
    if end <= start:
        print("--to must be after --from", file=err)
        return 2
    console = ConsoleReceiver(out, json_lines=args.json)

    async def replay() -> int:
        source = build_source(settings, SystemClock())
        try:
            found = await backtest(
                loaded.ruleset,
                source,
                start,
                end,
                step=step,
                emit=console.emit,
                source_down_after=dt.timedelta(seconds=settings.source_down_after_seconds),
            )
        finally:
            await source.aclose()
        return len(found)

    count = anyio.run(replay)
    if not args.json:
        print(f"{count} transition(s) from {start.isoformat()} to {end.isoformat()}", file=err)
    return 0
