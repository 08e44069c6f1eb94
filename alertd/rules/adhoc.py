"""A rule built from command-line pieces, for `alertd query` and rule tests."""

from __future__ import annotations

import datetime as dt

from alertd.errors import ExpressionError, Location
from alertd.rules.binding import bind
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset
from alertd.rules.typecheck import parse_condition, parse_value


def adhoc_rule(
    value: str,
    dataset: Dataset,
    *,
    by: tuple[str, ...],
    where: str | None,
    window: dt.timedelta,
    name: str = "query",
) -> Rule:
    """A threshold-less rule answering one question; raises ExpressionError or ValueError."""
    for label in by:
        if dataset.field(label) is None:
            raise ValueError(f"unknown field {label!r} in dataset {dataset.name}")
    try:
        condition = parse_condition(where, dataset) if where else None
    except ExpressionError as exc:
        raise ExpressionError(_pointed("--where", where or "", exc), exc.offset) from None
    try:
        parsed = parse_value(value, dataset)
    except ExpressionError as exc:
        raise ExpressionError(_pointed("value", value, exc), exc.offset) from None
    return Rule(
        name=name,
        group="adhoc",
        location=Location("<command line>"),
        value=bind(parsed, dataset.name, condition),
        value_text=value,
        by=by,
        window=window,
        min_samples=0,
        thresholds={},
        recover=None,
        for_=dt.timedelta(0),
        keep_firing_for=dt.timedelta(0),
        no_data="keep",
    )


def _pointed(what: str, text: str, exc: ExpressionError) -> str:
    """The message with the text and a caret under the offending character."""
    return f"{what}: {exc.message}\n  {text}\n  {' ' * exc.offset}^"
