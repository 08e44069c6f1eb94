"""Annotation templates render under a budget: a costly template shows its source, fast."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from alertd.commands import check
from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.snapshots import snapshot
from alertd.query.check import check_rules
from alertd.rules.loader import LoadResult
from alertd.rules.ruleset import Rule
from alertd.rules.sandbox import MAX_SIZE, MAX_WORK, OverBudget
from alertd.rules.templates import TemplateError, check_template, render

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
RULES = Path(__file__).parents[2] / "rules"
CONTEXT = {
    "labels": {"table": "users"},
    "value": 212.345,
    "threshold": "> 200",
    "severity": "critical",
    "alert": "SlowQueryP95",
    "samples": 20,
    "window": "5m",
    "annotations": {},
}
NESTED_LOOPS = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
# Each of these ran for minutes or took gigabytes before templates had a budget.
COSTLY = [
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    NESTED_LOOPS,
    "{{ 'x' * 3000000000 }}",
    "{{ [1, 2] * 3000000000 }}",
    "{{ 10 ** 100000000 }}",
    "{{ 'x' | center(3000000000) }}",
    "{{ '%3000000000d' % 1 }}",
    "{{ '%3000000000d' | format(1) }}",
    "{{ '{:>3000000000}'.format(1) }}",
    "{% set s = 'x' * 10000 %}{{ s.replace('', s) }}",
    "{% set s = 'x' * 10000 %}{{ s | replace('', s) }}",
    "{% set s = 'y' * 10000 %}{{ ([s] * 10000) | join }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "{% set ns = namespace(l=['x']) %}{% for i in range(60) %}"
    "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
    "{% set ns = namespace(n=10 ** 100) %}{% for i in range(40) %}"
    "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}",
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{{ f(60) }}",
]


@pytest.mark.parametrize("source", COSTLY)
def test_a_costly_template_is_refused_quickly_when_rendered(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(OverBudget):
        render(source, CONTEXT)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("source", COSTLY)
def test_check_refuses_a_costly_template_without_hanging(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match="too costly to render"):
        check_template(source)
    assert time.monotonic() - started < 5


def test_unsafe_string_and_number_methods_are_out_of_reach() -> None:
    for source in ("{{ 'x'.center(3000000000) }}", "{{ (1).to_bytes(3000000000, 'big') }}"):
        with pytest.raises(Exception, match="unsafe"):
            render(source, CONTEXT)


def test_printing_more_than_the_size_limit_is_refused() -> None:
    source = "{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}"
    with pytest.raises(OverBudget, match=f"more than {MAX_SIZE} characters"):
        render(source, CONTEXT)


def test_a_loop_over_budget_is_counted_not_timed() -> None:
    with pytest.raises(OverBudget, match=f"more than {MAX_WORK} steps"):
        render(NESTED_LOOPS, CONTEXT)


def test_the_shipped_annotations_and_everyday_templates_still_render() -> None:
    assert check_rules([RULES]).errors == []
    everyday = (
        "P95 on {{ labels.table }} is {{ value | round(1) }} ms, "
        "{{ (value * 100) | round(1) }} %, {{ value | default(0, true) | round | int }}; "
        "{% for k, v in labels.items() %}{{ k }}={{ v }}{% endfor %} "
        "{{ labels.table ~ '!' }} {{ '%.1f' % value }} {{ '{:.2f}'.format(value) }} "
        "{{ severity | upper }} {{ labels | tojson }} {{ '%d' | format(3) }}"
    )
    check_template(everyday)
    assert render(everyday, CONTEXT) == (
        "P95 on users is 212.3 ms, 21234.5 %, 212; table=users users! 212.3 212.34 "
        'CRITICAL {"table": "users"} 3'
    )


def test_alertd_check_reports_a_costly_annotation_at_its_line(tmp_path: Path) -> None:
    for name in ("datasets.yaml", "sources.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    text = (RULES / "database.yaml").read_text()
    summary = 'summary: "P95 query time on {{ labels.table }} is {{ value | round(1) }} ms"'
    assert summary in text
    (tmp_path / "database.yaml").write_text(
        text.replace(summary, "summary: \"{{ 'x' * 3000000000 }}\"")
    )
    err = io.StringIO()
    started = time.monotonic()
    assert check.run([tmp_path], io.StringIO(), err) == 1
    assert time.monotonic() - started < 10
    line = next(i for i, row in enumerate(text.splitlines(), 1) if summary in row)
    assert f"database.yaml:{line}:" in err.getvalue()
    assert "too costly to render" in err.getvalue()


def _shipped_with_summary(tmp_path: Path, source: str) -> LoadResult:
    """The shipped database rules, loaded with the P95 rule's summary replaced by `source`."""
    for name in ("datasets.yaml", "sources.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    text = (RULES / "database.yaml").read_text()
    summary = 'summary: "P95 query time on {{ labels.table }} is {{ value | round(1) }} ms"'
    (tmp_path / "database.yaml").write_text(text.replace(summary, f'summary: "{source}"'))
    return check_rules([tmp_path])


def _firing_on_a_long_table(rule: Rule, value: float | None, samples: int) -> AlertState:
    labels = (("table", "t" * 100),)
    return AlertState(
        fingerprint(rule.name, labels), rule.name, labels, Status.FIRING, Severity.CRITICAL,
        active_since=T0, firing_since=T0, last_breach=T0, value=value, samples=samples,
    )  # fmt: skip


def _summarised_by(loaded: LoadResult, source: str) -> Rule:
    return next(r for r in loaded.ruleset.rules if r.annotations.get("summary") == source)


def test_a_template_over_budget_on_real_labels_pages_with_its_source(tmp_path: Path) -> None:
    # Fine on check's example labels, too large on the label this alert really has.
    source = "{{ labels.table * 1000 }}"
    loaded = _shipped_with_summary(tmp_path, source)
    assert loaded.errors == []
    rule = _summarised_by(loaded, source)
    state = _firing_on_a_long_table(rule, value=250.0, samples=30)
    with capture_logs() as logs:
        shown = snapshot(state, rule, "> 200")
    assert shown.annotations["summary"] == source
    (failed,) = [e for e in logs if e["event"] == "annotation.render_failed"]
    assert "larger than" in failed["error"]


@pytest.mark.parametrize(
    "source",
    [
        "{% set s = 'x' * 10000 %}{{ s | replace('', s) }}",
        "{% set s = 'y' * 10000 %}{{ ([s] * 10000) | join }}",
    ],
)
def test_a_filter_building_a_large_value_is_refused_before_it_builds_it(source: str) -> None:
    # Measured before running, the filter never gets to build its hundred-megabyte answer.
    tracemalloc.start()
    try:
        with pytest.raises(OverBudget):
            render(source, CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_template_over_budget_shows_its_source_even_without_a_value(tmp_path: Path) -> None:
    source = "{{ labels.table * 1000 }}"
    rule = _summarised_by(_shipped_with_summary(tmp_path, source), source)
    state = _firing_on_a_long_table(rule, value=None, samples=0)
    with capture_logs() as logs:
        shown = snapshot(state, rule, "> 200")
    assert shown.annotations["summary"] == source
    assert [e["event"] for e in logs] == ["annotation.render_failed"]
