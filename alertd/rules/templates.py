"""Annotation templates: Jinja2 in a sandbox, checked when the rules load."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.exceptions import TemplateAssertionError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# What a template may refer to when an alert's notification is rendered.
TEMPLATE_VARIABLES = frozenset(
    {"labels", "value", "threshold", "severity", "alert", "samples", "window", "annotations"}
)


class TemplateError(ValueError):
    """A template that does not compile or refers to an unknown name; `line` is 1-based."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one environment every template renders in: sandboxed, undefined is an error."""
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(source: str) -> None:
    """Raise TemplateError if `source` would fail to compile or names an unknown variable."""
    env = environment()
    try:
        parsed = env.parse(source)
        env.compile(source)
    except TemplateAssertionError as exc:
        raise TemplateError(str(exc.message), exc.lineno) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(str(exc.message), exc.lineno) from None
    unknown = meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES
    if unknown:
        known = ", ".join(sorted(TEMPLATE_VARIABLES))
        raise TemplateError(f"unknown variable {', '.join(sorted(unknown))} (known: {known})")


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    # A storm renders the same few rule templates thousands of times; parse each once.
    return environment().from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a checked template with an alert's context."""
    return _compiled(source).render(**context)
