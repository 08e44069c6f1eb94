"""An error inside an expression points at the very character of the rule file, whatever
the YAML scalar style the expression was written in."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.errors import RuleError
from alertd.rules.loader import load
from alertd.rules.yaml_source import load as load_yaml

DATASETS = """\
datasets:
  db:
    index: table
    blobs: [queryType, table, status]
    doubles: [duration]
"""

# `where:` is on line 7; its value starts at column 12.
RULE = """\
group: g
rules:
  - alert: R
    dataset: db
    value: count()
    thresholds: {critical: "> 1"}
    where: {where}
"""

UNKNOWN_FIELD = "rules[0].where: unknown field 'nope'"


def located_errors(tmp_path: Path, where: str) -> list[str]:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "r.yaml").write_text(RULE.replace("{where}", where))
    return [str(e).replace(str(tmp_path) + "/", "") for e in load([tmp_path]).errors]


def location_of(tmp_path: Path, where: str, message: str = UNKNOWN_FIELD) -> str:
    """The `file:line:col` of the one error, checking it is the expected one."""
    (error,) = located_errors(tmp_path, where)
    location, _, rest = error.partition(": ")
    assert rest.startswith(message), error
    return location


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('status == "error" and nope == 1', "r.yaml:7:34"),
        ("'status == \"error\" and nope == 1'", "r.yaml:7:35"),
        ('"duration > 1 and nope == 1"', "r.yaml:7:30"),
    ],
    ids=["plain", "single-quoted", "double-quoted"],
)
def test_single_line_scalars_point_at_the_character(
    tmp_path: Path, where: str, expected: str
) -> None:
    assert location_of(tmp_path, where) == expected


def test_double_quoted_escapes_do_not_shift_the_column(tmp_path: Path) -> None:
    where = r'"status == \"error\" and nope == 1"'
    assert location_of(tmp_path, where) == "r.yaml:7:37"


def test_unicode_escapes_count_as_the_text_they_take_in_the_file(tmp_path: Path) -> None:
    where = r'"status == \"\u00e9\x41\U0001F600\" and nope == 1"'
    assert location_of(tmp_path, where) == "r.yaml:7:52"


def test_single_quoted_doubled_quotes_do_not_shift_the_column(tmp_path: Path) -> None:
    where = "'status == ''error'' and nope == 1'"
    assert location_of(tmp_path, where) == "r.yaml:7:37"


def test_a_plain_scalar_continued_over_lines_is_followed_onto_its_line(tmp_path: Path) -> None:
    where = 'status == "error"\n      and   nope == 1'
    assert location_of(tmp_path, where) == "r.yaml:8:13"


def test_a_quoted_scalar_folded_over_blank_lines_is_followed(tmp_path: Path) -> None:
    where = "'status == ''error''   \n\n        and nope == 1'"
    assert location_of(tmp_path, where) == "r.yaml:9:13"


def test_an_escaped_line_break_in_a_double_quoted_scalar_is_followed(tmp_path: Path) -> None:
    where = '"status == \\"error\\" \\\n      and nope == 1"'
    assert location_of(tmp_path, where) == "r.yaml:8:11"


def test_a_literal_block_keeps_its_lines_and_indentation(tmp_path: Path) -> None:
    where = '|\n      status == "error"\n\n        and nope == 1'
    assert location_of(tmp_path, where) == "r.yaml:10:13"


def test_a_folded_block_is_followed_through_its_folds(tmp_path: Path) -> None:
    where = '>-\n      status == "error"\n      and\n\n      nope == 1'
    assert location_of(tmp_path, where) == "r.yaml:11:7"


def test_a_folded_block_keeps_more_indented_lines(tmp_path: Path) -> None:
    where = '>\n      status == "error"\n        and\n      nope == 1'
    assert location_of(tmp_path, where) == "r.yaml:10:7"


def test_a_block_with_an_indentation_indicator_is_followed(tmp_path: Path) -> None:
    where = '|2\n         status == "error" and nope == 1'
    assert location_of(tmp_path, where) == "r.yaml:8:32"


def test_a_block_with_a_comment_after_its_header_is_followed(tmp_path: Path) -> None:
    where = '|+ # why\n      status == "error" and nope == 1\n\n'
    assert location_of(tmp_path, where) == "r.yaml:8:29"


def test_an_error_at_the_end_of_a_quoted_scalar_points_at_its_closing_quote(
    tmp_path: Path,
) -> None:
    where = r'"status == \"error\" and"'
    message = "rules[0].where: expression ends too early"
    assert location_of(tmp_path, where, message) == "r.yaml:7:36"


def test_an_error_at_the_end_of_a_folded_scalar_points_after_its_last_character(
    tmp_path: Path,
) -> None:
    where = '"status == \\"error\\"\n      and"'
    message = "rules[0].where: expression ends too early"
    assert location_of(tmp_path, where, message) == "r.yaml:8:10"


def test_an_offset_beyond_the_value_points_at_the_scalar_start() -> None:
    document = load_yaml("f.yaml", 'a: "x\\ty"\n')
    location = document.location(("a",), offset=99)
    assert (location.line, location.column) == (1, 4)


def test_an_alias_is_refused_where_its_anchor_is_written() -> None:
    # A few hundred bytes of nested aliases expand to gigabytes ("billion laughs").
    with pytest.raises(RuleError) as raised:
        load_yaml("f.yaml", "a: &w 'it''s here'\nb: *w\n")
    assert str(raised.value) == "f.yaml:1:4: aliases and anchors are not supported"


def test_a_tagged_scalar_is_followed_past_its_tag(tmp_path: Path) -> None:
    where = '!!str\n      "status == \\"error\\" and nope == 1"'
    assert location_of(tmp_path, where) == "r.yaml:8:32"


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60),
    st.sampled_from([None, '"', "'", "|", ">"]),
    st.integers(min_value=8, max_value=40),
)
def test_every_written_character_is_found_where_it_was_written(
    value: str, style: str | None, width: int
) -> None:
    text = yaml.safe_dump({"key": {"where": value}}, default_style=style, width=width)
    document = load_yaml("f.yaml", text)
    assert document.data["key"]["where"] == value
    lines = text.split("\n")
    for offset, char in enumerate(value):
        if not char.isalnum():
            continue  # spaces, breaks and escapes need not be written as themselves
        location = document.location(("key", "where"), offset=offset)
        written = lines[location.line - 1][location.column - 1 :]
        assert written.startswith(char) or written.startswith("\\"), (text, offset)
