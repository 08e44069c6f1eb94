"""What commands check in their environment before they start: settings and the rules
directory, each problem said in one line."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from alertd.settings import Settings

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
