"""What commands check in their environment before they start: settings and the rules
directory, each problem said in one line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from alertd.settings import READ_ELSEWHERE, Settings

PREFIX = "ALERTD_"

_CHOICES = re.compile(r"\^\(([\w|]+)\)\$")


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming its environment variable and what is wrong."""
    names = _variables()
    lines = []
    for error in exc.errors():
        if not error["loc"]:  # a check across settings says what it is about itself
            lines.append(error["msg"].removeprefix("Value error, "))
            continue
        field = str(error["loc"][0]) if error["loc"] else ""
        value = "" if _secret(field) else f"={error['input']!r}"
        lines.append(f"{names.get(field, field)}{value}: {_reason(error)}")
    return lines


def unknown_variables(names: Iterable[str]) -> list[str]:
    """One line per ALERTD_ variable alertd does not read: a misspelt setting would
    otherwise be silently ignored. Names the setting meant when one is close."""
    known = known_variables()
    lines = []
    for name in sorted(names):
        upper = name.upper()  # pydantic-settings reads variables in any case
        if not upper.startswith(PREFIX) or upper in known:
            continue
        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else " (see Settings in the README)"
        lines.append(f"{name}: not an alertd setting{hint}")
    return lines


def known_variables() -> frozenset[str]:
    """Every environment variable alertd reads a setting from."""
    names = set(READ_ELSEWHERE)
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{PREFIX}{name}".upper())
    return frozenset(names)


def rules_dir_problem(rules_dir: Path) -> str | None:
    """Why `rules_dir` cannot hold the rules, or None."""
    if not rules_dir.exists():
        return f"rules directory {rules_dir} does not exist (see --rules and ALERTD_RULES_DIR)"
    if not rules_dir.is_dir():
        return f"rules directory {rules_dir} is not a directory"
    return None


def _variables() -> dict[str, str]:
    """Each setting's environment variable, by field name."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = {}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        first = alias.choices[0] if isinstance(alias, AliasChoices) else None
        names[name] = first if isinstance(first, str) else f"{prefix}{name}".upper()
    return names


def _secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    # An error on an alias names a credential variable; its value is never shown.
    return info is None or info.annotation is SecretStr


def _reason(error: ErrorDetails) -> str:
    # A pattern of alternatives reads better as the list of them.
    choices = _CHOICES.fullmatch(str(error.get("ctx", {}).get("pattern", "")))
    if error["type"] == "string_pattern_mismatch" and choices:
        return "should be one of " + ", ".join(choices.group(1).split("|"))
    return error["msg"].removeprefix("Input ")
