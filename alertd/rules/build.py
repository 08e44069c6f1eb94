"""Turn a validated group file into Rules: expressions, labels, thresholds, templates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from alertd.errors import ExpressionError, RuleError
from alertd.model import Severity
from alertd.rules.ast import BoundAggregate, RowExpr, ValueExpr
from alertd.rules.binding import bind
from alertd.rules.files import RETENTION, GroupFile, RuleSpec
from alertd.rules.ruleset import Group, Rule
from alertd.rules.schema import Dataset
from alertd.rules.templates import TemplateError, check_template
from alertd.rules.thresholds import Threshold, recover_problem
from alertd.rules.typecheck import parse_condition, parse_value
from alertd.rules.units import PERCENT
from alertd.rules.yaml_source import Document, Path, dotted, pydantic_errors

RESERVED_LABELS = frozenset({"alertname", "severity"})
MAX_WINDOW = RETENTION


class _Collector:
    """Collects errors for one rule; `failed` says whether the rule must be dropped."""

    def __init__(self, document: Document, base: Path) -> None:
        self.document = document
        self.base = base
        self.errors: list[RuleError] = []

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        full = (*self.base, *path)
        self.errors.append(
            RuleError(self.document.location(full, key=key), f"{dotted(full)}: {message}")
        )

    def expression(self, path: Path, exc: ExpressionError) -> None:
        full = (*self.base, *path)
        location = self.document.location(full, offset=exc.offset)
        self.errors.append(RuleError(location, f"{dotted(full)}: {exc.message}"))


def build_group(
    spec: GroupFile, document: Document, datasets: Mapping[str, Dataset]
) -> tuple[Group, list[RuleError]]:
    """Build every rule of a group; a bad rule is left out and its errors reported."""
    errors: list[RuleError] = []
    rules: list[Rule] = []
    if spec.interval < dt.timedelta(seconds=1):
        errors.append(RuleError(document.location(("interval",)), "interval: must be at least 1s"))
    for index, raw in enumerate(spec.rules):
        collector = _Collector(document, ("rules", index))
        try:
            rule_spec = RuleSpec.model_validate(raw)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, document, ("rules", index)))
            _check_raw_expressions(raw, collector, datasets)
            errors.extend(collector.errors)
            continue
        rule = _build_rule(rule_spec, spec, collector, datasets)
        errors.extend(collector.errors)
        if rule is not None and not collector.errors:
            rules.append(rule)
    return Group(spec.group, spec.interval, tuple(rules), document.location(())), errors


def _check_raw_expressions(
    raw: dict[str, Any], out: _Collector, datasets: Mapping[str, Dataset]
) -> None:
    """Check the expressions of a rule that failed validation, so all its errors show at once."""
    annotations = raw.get("annotations")
    if isinstance(annotations, dict):
        _check_annotations({k: v for k, v in annotations.items() if isinstance(v, str)}, out)
    key = "source" if "source" in raw else "dataset"
    name = raw.get(key)
    dataset = _dataset(name, (key,), out, datasets) if isinstance(name, str) else None
    if dataset is None:
        return
    if isinstance(raw.get("where"), str):
        _condition(raw["where"], dataset, ("where",), out)
    if isinstance(raw.get("value"), str):
        try:
            parse_value(raw["value"], dataset)
        except ExpressionError as exc:
            out.expression(("value",), exc)


def _build_rule(
    spec: RuleSpec, group: GroupFile, out: _Collector, datasets: Mapping[str, Dataset]
) -> Rule | None:
    value = _value(spec, out, datasets)
    _check_window(spec, out)
    unit = _unit(spec)
    thresholds = {s: dataclasses.replace(t, unit=unit) for s, t in _thresholds(spec, out).items()}
    recover = dataclasses.replace(spec.recover, unit=unit) if spec.recover else None
    labels = {**group.labels, **spec.labels}
    for name in sorted(set(labels) & (RESERVED_LABELS | set(spec.by))):
        out.error(
            ("labels", name), f"label {name!r} is reserved or is already a group-by label", key=True
        )
    _check_annotations(spec.annotations, out)
    for index, name in enumerate(spec.links):
        if name not in spec.annotations:
            out.error(("links", index), f"{name!r} is not one of the rule's annotations")
    if spec.confidence is not None and not _weighable(value):
        out.error(
            ("confidence",),
            "confidence weighs the rows behind one ratio(...) or one quantile (p95, ...); "
            "this value is neither: remove it or set it to off",
        )
    if value is None or out.errors:
        return None
    return Rule(
        name=spec.alert,
        group=group.group,
        location=out.document.location(out.base),
        value=value,
        value_text=spec.value,
        by=tuple(spec.by),
        window=spec.window,
        min_samples=spec.min_samples,
        thresholds=thresholds,
        recover=recover,
        for_=spec.for_,
        keep_firing_for=spec.keep_firing_for,
        no_data=spec.no_data,
        labels=labels,
        annotations=dict(spec.annotations),
        unit=unit,
        links=tuple(spec.links),
        confidence=spec.confidence,
    )


def _weighable(value: ValueExpr | None) -> bool:
    return isinstance(value, BoundAggregate) and value.aggregate.func in ("ratio", "quantile")


def _unit(spec: RuleSpec) -> str | None:
    """The rule's `unit:`; thresholds written in percent make a ratio shown in percent."""
    if spec.unit is not None:
        return spec.unit
    written = [spec.thresholds.warning, spec.thresholds.critical, spec.recover]
    if any(t is not None and t.text.endswith("%") for t in written):
        return PERCENT
    return None


def _check_annotations(annotations: Mapping[str, str], out: _Collector) -> None:
    for name, source in annotations.items():
        try:
            check_template(source)
        except TemplateError as exc:
            out.error(("annotations", name), f"template: {exc}")


def _value(spec: RuleSpec, out: _Collector, datasets: Mapping[str, Dataset]) -> ValueExpr | None:
    if spec.queries is not None:
        if spec.dataset is not None or spec.source is not None or spec.where is not None:
            out.error(
                ("queries",),
                "with `queries`, put `dataset` and `where` inside each query",
                key=True,
            )
            return None
        bound: dict[str, ValueExpr] = {}
        for name, query in spec.queries.items():
            dataset = _dataset(query.dataset, ("queries", name, "dataset"), out, datasets)
            if dataset is None:
                continue
            _check_by(spec.by, dataset, out)
            where = _condition(query.where, dataset, ("queries", name, "where"), out)
            try:
                parsed = parse_value(query.value, dataset)
            except ExpressionError as exc:
                out.expression(("queries", name, "value"), exc)
                continue
            bound[name] = bind(parsed, dataset.name, where)
        try:
            top = parse_value(spec.value, None, spec.queries.keys())
        except ExpressionError as exc:
            out.expression(("value",), exc)
            return None
        return bind(top, None, None, bound) if len(bound) == len(spec.queries) else None
    if spec.dataset is not None and spec.source is not None:
        out.error(("source",), "give either `dataset` or `source`, not both")
        return None
    key = "dataset" if spec.source is None else "source"
    chosen = spec.dataset if spec.source is None else spec.source
    if chosen is None:
        out.error(("alert",), "required key 'dataset' is missing (or use `source` or `queries`)")
        return None
    dataset = _dataset(chosen, (key,), out, datasets)
    if dataset is None:
        return None
    _check_by(spec.by, dataset, out)
    where = _condition(spec.where, dataset, ("where",), out)
    try:
        return bind(parse_value(spec.value, dataset), dataset.name, where)
    except ExpressionError as exc:
        out.expression(("value",), exc)
        return None


def _dataset(
    name: str, path: Path, out: _Collector, datasets: Mapping[str, Dataset]
) -> Dataset | None:
    dataset = datasets.get(name)
    if dataset is None:
        known = ", ".join(sorted(datasets)) or "none"
        out.error(path, f"unknown dataset {name!r} (declared: {known})")
    return dataset


def _condition(text: str | None, dataset: Dataset, path: Path, out: _Collector) -> RowExpr | None:
    if text is None:
        return None
    try:
        return parse_condition(text, dataset)
    except ExpressionError as exc:
        out.expression(path, exc)
        return None


def _check_by(by: list[str], dataset: Dataset, out: _Collector) -> None:
    for index, name in enumerate(by):
        if dataset.field(name) is None:
            out.error(("by", index), f"unknown field {name!r} in dataset {dataset.name}")
    for name in sorted({n for n in by if by.count(n) > 1}):
        out.error(("by",), f"{name!r} is listed twice")


def _check_window(spec: RuleSpec, out: _Collector) -> None:
    if spec.window < dt.timedelta(seconds=1) or spec.window.total_seconds() % 1:
        out.error(("window",), "must be a whole number of seconds, at least 1s")
    elif spec.window > MAX_WINDOW:
        out.error(("window",), "must be at most 90d (Analytics Engine keeps three months)")


def _thresholds(spec: RuleSpec, out: _Collector) -> dict[Severity, Threshold]:
    thresholds = {
        severity: threshold
        for severity, threshold in (
            (Severity.CRITICAL, spec.thresholds.critical),
            (Severity.WARNING, spec.thresholds.warning),
        )
        if threshold is not None
    }
    if not thresholds:
        out.error(("thresholds",), "give at least one of warning, critical")
        return thresholds
    critical, warning = thresholds.get(Severity.CRITICAL), thresholds.get(Severity.WARNING)
    if critical and warning:
        if critical.upward != warning.upward or critical.downward != warning.downward:
            out.error(("thresholds",), "warning and critical must point the same way")
        elif (critical.upward and critical.bound < warning.bound) or (
            critical.downward and critical.bound > warning.bound
        ):
            out.error(
                ("thresholds", "critical"),
                f"critical '{critical.text}' is reached before warning '{warning.text}'",
            )
    if spec.recover is not None and (problem := recover_problem(spec.recover, thresholds)):
        out.error(("recover",), problem)
    return thresholds
