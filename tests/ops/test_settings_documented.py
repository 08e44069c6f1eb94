"""Every setting alertd reads is in the README's settings table."""

from __future__ import annotations

import re
from pathlib import Path

from alertd.commands.environment import known_variables
from alertd.settings import Settings

README = Path(__file__).parents[2] / "README.md"
# A row of the table: its first cell, which names one or more variables.
ROW = re.compile(r"^\| (?P<names>[^|]*`[A-Z_]+`[^|]*) \|", re.MULTILINE)


def documented() -> set[str]:
    text = README.read_text(encoding="utf-8")
    table = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return {name for row in ROW.finditer(table) for name in re.findall(r"`([A-Z_]+)`", row[0])}


def test_every_setting_has_a_row_in_the_readme() -> None:
    names = documented()
    # The variable each field is read from first: CLOUDFLARE_* for the aliases.
    wanted = set()
    for field, info in Settings.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        wanted.add(str(choices[0]) if choices else f"ALERTD_{field.upper()}")
    assert not wanted - names, f"missing from README's settings table: {sorted(wanted - names)}"


def test_every_alertd_variable_read_is_documented() -> None:
    listed = {name for name in known_variables() if not name.startswith("ALERTD_CLOUDFLARE_")}
    assert listed - documented() == set()


def test_the_table_names_only_variables_alertd_reads() -> None:
    known = known_variables()
    assert {name for name in documented() if name.startswith("ALERTD_")} <= known
