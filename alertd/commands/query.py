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
from alertd.commands.arguments import seconds_option, time_option
from alertd.commands.environment import rules_dir_problem
from alertd.errors import AlertdError, ExpressionError
from alertd.pipeline import build_source
from alertd.query.plan import plan
from alertd.query.results import RuleResult, SeriesValue, read
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset
from alertd.settings import Settings
from alertd.sources.batch import run_plan


def run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    rules_dir: Path = args.rules or settings.rules_dir
    problem = rules_dir_problem(rules_dir)
    if problem:
        print(problem, file=err)
        return 1
    datasets = load([rules_dir]).ruleset.datasets
    dataset = datasets.get(args.dataset)
    if dataset is None:
        known = ", ".join(sorted(datasets))
        print(f"unknown dataset {args.dataset!r} in {rules_dir} (known: {known})", file=err)
        return 2
    by = tuple(name.strip() for item in args.by for name in item.split(",") if name.strip())
    try:
        window = seconds_option("--window", args.window)
        at = time_option("--at", args.at) if args.at else SystemClock().now()
        rule = adhoc_rule(args.value, dataset, by=by, where=args.where, window=window)
    except ExpressionError as exc:
        print(exc.message, file=err)
        return 2
    except ValueError as exc:
        print(str(exc), file=err)
        return 2
    problem = settings.credentials_problem()
    if problem:
        print(problem, file=err)
        return 1
    try:
        result = anyio.run(_ask, settings, rule, datasets, at)
    except (AlertdError, ValueError) as exc:
        print(str(exc), file=err)
        return 1
    if result.error:
        print(result.error, file=err)
        return 1
    _print(result, by, args.json, out)
    if not result.series:
        # An empty answer looks like a broken command; most often nothing was written yet.
        print(
            f"no series in the window ending at {_iso(at)}; has data been written? "
            "(alertd simulate writes some)",
            file=err,
        )
    return 0


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


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _order(value: SeriesValue) -> tuple[bool, float]:
    return (value.value is None, -(value.value or 0.0))


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
