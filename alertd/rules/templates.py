"""Annotation templates: Jinja2 in a budgeted sandbox, checked when the rules load."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, meta
from jinja2.exceptions import TemplateAssertionError

from alertd.rules.sandbox import BudgetedEnvironment, OverBudget, render_within_budget

# What a template may refer to when an alert's notification is rendered.
TEMPLATE_VARIABLES = frozenset(
    {"labels", "value", "threshold", "severity", "alert", "samples", "window", "annotations"}
)

# `{{ $labels.team }}` and `{{ $value }}` are how Prometheus templates say it.
_PROMETHEUS_NAME = re.compile(r"\$(?:labels|value|externalLabels)\b(?:\.[A-Za-z_]\w*)?")


class TemplateError(ValueError):
    """A template that does not compile or refers to an unknown name; `line` is 1-based."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@functools.cache
def environment() -> BudgetedEnvironment:
    """The one environment every template renders in: sandboxed, budgeted, strict."""
    return BudgetedEnvironment()


class _AnyName(dict[str, str]):
    """Labels for a trial render: every name has a value."""

    def __missing__(self, key: str) -> str:
        return "example"


def _trial_context() -> dict[str, Any]:
    return {
        "labels": _AnyName(),
        "value": 1.0,
        "threshold": "> 0",
        "severity": "critical",
        "alert": "Example",
        "samples": 1,
        "window": "5m",
        "annotations": _AnyName(),
    }


def check_template(
    source: str,
    variables: frozenset[str] = TEMPLATE_VARIABLES,
    trial: Mapping[str, Any] | None = None,
) -> None:
    """Raise TemplateError if `source` would fail to compile, names an unknown variable, or
    exceeds the render budget when tried on an example alert.

    `variables` and `trial` are what another kind of template (a receiver's, over a
    group) may name and an example of them; an alert's annotation by default.
    """
    if prometheus := _PROMETHEUS_NAME.search(source):
        name = prometheus.group(0)
        line = source.count("\n", 0, prometheus.start()) + 1
        raise TemplateError(f"{name} is Prometheus syntax: write {name[1:]} (no $)", line)
    env = environment()
    try:
        parsed = env.parse(source)
        template = _compiled(source)
    except TemplateAssertionError as exc:
        raise TemplateError(str(exc.message), exc.lineno) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(str(exc.message), exc.lineno) from None
    unknown = meta.find_undeclared_variables(parsed) - variables
    if unknown:
        known = ", ".join(sorted(variables))
        first = re.search("|".join(rf"\b{re.escape(name)}\b" for name in unknown), source)
        line = source.count("\n", 0, first.start()) + 1 if first else 1
        message = f"unknown variable {', '.join(sorted(unknown))} (known: {known})"
        raise TemplateError(message, line)
    try:
        render_within_budget(template, _trial_context() if trial is None else trial)
    except OverBudget as exc:
        raise TemplateError(f"too costly to render: {exc}") from None
    except Exception:  # other failures depend on the real alert's values, unknown here
        pass


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    # A storm renders the same few rule templates thousands of times; parse each once.
    return environment().compile_budgeted(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a checked template with an alert's context; OverBudget if it costs too much."""
    return render_within_budget(_compiled(source), context)
