"""A rule's `links:` names annotations shown as links; naming one the rule lacks is an
error at its file and line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from alertd.commands import check
from alertd.query.check import check_rules

RULES = Path(__file__).parents[2] / "rules"


def test_the_shipped_rule_lists_its_query_log_as_a_link() -> None:
    rules = {r.name: r for r in check_rules([RULES]).ruleset.rules}

    assert rules["SlowQueryP95"].links == ("query_log",)


def test_a_link_naming_no_annotation_is_an_error_at_its_line(tmp_path: Path) -> None:
    for name in ("datasets.yaml", "sources.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    text = (RULES / "database.yaml").read_text()
    assert "    links: [query_log]" in text
    (tmp_path / "database.yaml").write_text(
        text.replace("    links: [query_log]", "    links: [query_log, grafana]")
    )
    err = io.StringIO()

    assert check.run([tmp_path], io.StringIO(), err) == 1

    line = next(i for i, row in enumerate(text.splitlines(), 1) if "links: [query_log]" in row)
    assert f"database.yaml:{line}:24: rules[0].links[1]: 'grafana' is not one of the rule's" in (
        err.getvalue()
    )
