"""Values shown in a rule's unit, the humanize filters, and Prometheus-style names refused."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from alertd.rules.sandbox import OverBudget
from alertd.rules.templates import TemplateError, check_template, render
from alertd.rules.thresholds import parse_threshold
from alertd.rules.units import (
    humanize,
    humanize_duration,
    humanize_percentage,
    value_in_unit,
)
from tests.engine.timeline import make_rule


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.118, "percent", "11.8 %"),
        (0.6905, "percent", "69.05 %"),
        (0.05, "percent", "5 %"),
        (0.0005, "percent", "0.05 %"),
        (130.6, "ms", "130.6 ms"),
        (1.2, "s", "1.2 s"),
        (512, "bytes", "512 B"),
        (1.5 * 1024 * 1024, "bytes", "1.5 MiB"),
        (3 * 1024**3, "bytes", "3 GiB"),
        (1234567.4, "count", "1,234,567"),
        (2.6, "count", "3"),
        (12.5, "req/s", "12.5 req/s"),
        (math.inf, "percent", "inf"),
    ],
)
def test_a_value_is_shown_in_its_unit(value: float, unit: str, shown: str) -> None:
    assert value_in_unit(value, unit) == shown


def test_a_threshold_is_shown_in_its_unit_and_as_written_without_one() -> None:
    assert parse_threshold("> 5%").shown == "> 5%"
    assert parse_threshold(" > 5% ").text == "> 5%"
    assert replace(parse_threshold("> 5%"), unit="percent").shown == "> 5 %"
    assert replace(parse_threshold("<= 1048576"), unit="bytes").shown == "<= 1 MiB"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1234567, "1.235M"), (0.0012, "1.2m"), (999, "999"), (-2500, "-2.5k"), (0, "0")],
)
def test_humanize_uses_si_prefixes(value: float, shown: str) -> None:
    assert humanize(value) == shown


def test_humanize_percentage_and_duration() -> None:
    assert humanize_percentage(0.118) == "11.8%"
    assert humanize_duration(90) == "1m 30s"
    assert humanize_duration(3661) == "1h 1m 1s"
    assert humanize_duration(1.5) == "1.5s"
    assert humanize_duration(0.25) == "250ms"


def test_the_filters_render_in_the_sandbox() -> None:
    source = (
        "{{ value | humanize_percentage }} {{ 1234567 | humanize }} {{ 90 | humanize_duration }}"
    )
    check_template(source)
    assert render(source, {"value": 0.118}) == "11.8% 1.235M 1m 30s"


@pytest.mark.parametrize("name", ["humanize", "humanize_percentage", "humanize_duration"])
def test_a_filter_given_a_huge_argument_is_refused_by_the_budget(name: str) -> None:
    # A label's text goes straight to the filter: its size is measured before it is read.
    with pytest.raises(OverBudget):
        render(f"{{{{ labels.big | {name} }}}}", {"labels": {"big": "9" * 20_000}})


@pytest.mark.parametrize(
    ("source", "named", "line"),
    [
        ("{{ $labels.table }} is slow", "labels.table", 1),
        ("first line\n{{ $value | humanize }}", "value", 2),
    ],
)
def test_prometheus_style_names_get_a_hint(source: str, named: str, line: int) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(source)
    assert f"write {named} " in str(caught.value)
    assert caught.value.line == line


def test_percent_thresholds_make_a_ratio_rule_percent(tmp_path: Path) -> None:
    body = '    value: ratio(status == "error")\n    thresholds: {critical: "> 5%"}\n'
    rule = make_rule(tmp_path, body)
    assert rule.unit == "percent"
    assert [t.shown for t in rule.thresholds.values()] == ["> 5 %"]


def test_a_declared_unit_wins_and_plain_thresholds_stay_plain(tmp_path: Path) -> None:
    declared = make_rule(
        tmp_path, '    value: p95(duration)\n    thresholds: {critical: "> 200"}\n    unit: ms\n'
    )
    assert declared.unit == "ms"
    assert [t.shown for t in declared.thresholds.values()] == ["> 200 ms"]
    plain = make_rule(tmp_path, '    value: p95(duration)\n    thresholds: {critical: "> 200"}\n')
    assert plain.unit is None
    assert [t.shown for t in plain.thresholds.values()] == ["> 200"]
