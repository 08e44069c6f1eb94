"""`alertd query`: one ad-hoc value per series, through the daemon's planner and source."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import anyio

from alertd.clock import SystemClock
from alertd.daemon import build_source
from alertd.errors import AlertdError, ExpressionError
from alertd.query.plan import plan
from alertd.query.results import RuleResult, SeriesValue, read
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.durations import parse_duration
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset
from alertd.settings import Settings
from alertd.sources.batch import run_plan


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = Settings()
    rules_dir: Path = args.rules or settings.rules_dir
    datasets = load([rules_dir]).ruleset.datasets
    dataset = datasets.get(args.dataset)
    if dataset is None:
        known = ", ".join(sorted(datasets))
        print(f"unknown dataset {args.dataset!r} in {rules_dir} (known: {known})", file=err)
        return 2
    by = tuple(name.strip() for item in args.by for name in item.split(",") if name.strip())
    try:
        window = parse_duration(args.window)
        at = parse_time(args.at) if args.at else SystemClock().now()
        rule = adhoc_rule(args.value, dataset, by=by, where=args.where, window=window)
    except ExpressionError as exc:
        print(exc.message, file=err)
        return 2
    except ValueError as exc:
        print(str(exc), file=err)
        return 2
    if not settings.cloudflare_account_id or not settings.cloudflare_api_token.get_secret_value():
        print(
            "set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN "
            "(and CLOUDFLARE_API_BASE for the emulator)",
            file=err,
        )
        return 2
    try:
        result = anyio.run(_ask, settings, rule, datasets, at)
    except (AlertdError, ValueError) as exc:
        print(str(exc), file=err)
        return 1
    if result.error:
        print(result.error, file=err)
        return 1
    _print(result, by, args.json, out)
    return 0


def parse_time(text: str) -> dt.datetime:
    """An ISO-8601 time; without a zone it is UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _ask(
    settings: Settings, rule: Rule, datasets: Mapping[str, Dataset], at: dt.datetime
) -> RuleResult:
    source = build_source(settings, SystemClock())
    try:
        planned = plan([rule], datasets, at)
        answers = await run_plan(planned, source)
    finally:
        await source.aclose()
    return read(planned, answers)[rule.name]


def _print(result: RuleResult, by: tuple[str, ...], as_json: bool, out: TextIO) -> None:
    ordered = sorted(result.series.items(), key=lambda item: _order(item[1]))
    if as_json:
        rows = [
            {"labels": dict(labels), "value": v.value, "samples": v.samples}
            for labels, v in ordered
        ]
        print(json.dumps(rows), file=out)
        return
    header = [*by, "value", "samples"]
    table = [
        [*(dict(labels)[n] for n in by), _format(v.value), str(v.samples)] for labels, v in ordered
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


def _order(value: SeriesValue) -> tuple[bool, float]:
    return (value.value is None, -(value.value or 0.0))


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
