"""Templates over a whole notification group, for receiver settings such as PagerDuty's
`source`, `component`, `group` and `class`: checked when the file loads, rendered per
notification in the same budgeted sandbox as annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from alertd.rules.templates import check_template, render

log = structlog.get_logger(__name__)

# What a group template may name.
GROUP_VARIABLES = frozenset(
    {"group_labels", "common_labels", "rules", "severity", "status", "receiver", "firing"}
)


class _AnyName(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "example"


_TRIAL: Mapping[str, Any] = {
    "group_labels": _AnyName(),
    "common_labels": _AnyName(),
    "rules": ["Example"],
    "severity": "critical",
    "status": "firing",
    "receiver": "example",
    "firing": 1,
}


def check_group_template(source: str) -> str:
    """`source` if it is a valid group template; ValueError naming the problem (and its
    line within the template) if not."""
    try:
        check_template(source, GROUP_VARIABLES, _TRIAL)
    except ValueError as exc:
        line = getattr(exc, "line", 1)
        where = f" (line {line} of the template)" if "\n" in source.strip() else ""
        raise ValueError(f"template: {exc}{where}") from None
    return source


def render_group(source: str, context: Mapping[str, Any], default: str, *, setting: str) -> str:
    """`source` rendered over a group's `context` (the names in GROUP_VARIABLES), or
    `default`, logged, when it fails on this group's values."""
    try:
        return render(source, context)
    except Exception as exc:  # a checked template can still fail on real values
        log.warning("receiver.template_failed", setting=setting, error=str(exc))
        return default
