import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.model import Severity
from alertd.notify.matchers import (
    Matcher,
    MatcherError,
    matches_all,
    parse_matcher,
    parse_matchers,
    with_identity,
)

LABELS = (("alertname", "SlowQueryP95"), ("severity", "critical"), ("table", "users"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity="critical"', Matcher("severity", "=", "critical")),
        ('env!="dev"', Matcher("env", "!=", "dev")),
        ('team=~"db|platform"', Matcher("team", "=~", "db|platform")),
        ('team!~"db.*"', Matcher("team", "!~", "db.*")),
        ("team=db", Matcher("team", "=", "db")),
        ('  team = "db"  ', Matcher("team", "=", "db")),
        ('msg="say \\"hi\\"\\n"', Matcher("msg", "=", 'say "hi"\n')),
        ('path="C:\\\\temp"', Matcher("path", "=", "C:\\temp")),
        ('host=~"db\\.prod"', Matcher("host", "=~", "db\\.prod")),
        ('empty=""', Matcher("empty", "=", "")),
        ("tags=a,b", Matcher("tags", "=", "a,b")),
    ],
)
def test_a_matcher_parses_from_alertmanagers_text_form(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ('="x"', "expected a label name", 0),
        ('team"x"', "expected an operator", 4),
        ('team=="x"', "a value with quotes must be quoted as a whole", 6),
        ('team="db', "missing closing quote", 5),
        ('team="db" x', "unexpected text after the matcher", 10),
        ('team=~"("', "invalid regex for team", 0),
        ('1team="x"', "expected a label name", 0),
    ],
)
def test_a_bad_matcher_says_what_and_where(text: str, message: str, offset: int) -> None:
    with pytest.raises(MatcherError, match=message) as caught:
        parse_matcher(text)
    assert caught.value.offset == offset


def test_a_list_of_matchers_parses_with_or_without_braces() -> None:
    expected = (Matcher("a", "=", "1"), Matcher("b", "!=", "x,y"), Matcher("c", "=~", "z"))
    assert parse_matchers('{a="1", b!="x,y",c=~z}') == expected
    assert parse_matchers('a="1", b!="x,y", c=~z') == expected
    assert parse_matchers('{a="1",}') == (Matcher("a", "=", "1"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "at least one matcher"),
        ("", "at least one matcher"),
        ('{a="1"', "missing closing brace"),
        ('{a="1"} b', "unexpected text after the closing brace"),
        ('a="1" b="2"', "expected a comma"),
    ],
)
def test_a_bad_matcher_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=message):
        parse_matchers(text)


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ('severity="critical"', True),
        ('severity="warning"', False),
        ('severity!="warning"', True),
        ('table=~"users|orders"', True),
        ('table=~"user"', False),  # anchored: a prefix is not a match
        ('table=~"sers"', False),
        ('table!~"u.*"', False),
        ('missing=""', True),  # a missing label counts as empty
        ('missing!=""', False),
        ('missing=~".*"', True),
        ('missing=~".+"', False),
        ('missing!~".+"', True),
    ],
)
def test_matching_follows_alertmanager(matcher: str, expected: bool) -> None:
    assert parse_matcher(matcher).matches(LABELS) is expected
    assert parse_matcher(matcher).matches(dict(LABELS)) is expected


def test_a_regex_does_not_match_across_a_trailing_newline() -> None:
    assert not parse_matcher('table=~"users"').matches({"table": "users\n"})


def test_every_matcher_must_hold_and_none_means_everything() -> None:
    assert matches_all(parse_matchers('severity="critical", table="users"'), LABELS)
    assert not matches_all(parse_matchers('severity="critical", table="orders"'), LABELS)
    assert matches_all((), LABELS)


def test_matches_empty_tells_which_matchers_select_alerts_lacking_the_label() -> None:
    assert parse_matcher('a=~".*"').matches_empty
    assert parse_matcher('a!="x"').matches_empty
    assert not parse_matcher('a="x"').matches_empty


def test_identity_labels_add_alertname_and_severity() -> None:
    labels = with_identity("SlowQueryP95", (("table", "users"),), Severity.CRITICAL)
    assert labels == (("alertname", "SlowQueryP95"), ("severity", "critical"), ("table", "users"))
    assert with_identity("X", (), None) == (("alertname", "X"),)


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)
matchers = st.one_of(
    st.builds(Matcher, names, st.sampled_from(["=", "!="]), values),
    st.builds(Matcher, names, st.sampled_from(["=~", "!~"]), values.map(re.escape)),
)


@given(matchers)
def test_a_matcher_survives_printing_and_parsing(matcher: Matcher) -> None:
    assert parse_matcher(str(matcher)) == matcher


@given(st.lists(matchers, min_size=1, max_size=4), st.booleans())
def test_a_matcher_list_survives_printing_and_parsing(found: list[Matcher], braces: bool) -> None:
    text = ", ".join(str(m) for m in found)
    assert parse_matchers("{" + text + "}" if braces else text) == tuple(found)


@given(names, values)
def test_an_equality_matcher_matches_exactly_its_value(name: str, value: str) -> None:
    matcher = Matcher(name, "=", value)
    assert matcher.matches({name: value})
    assert not matcher.matches({name: value + "x"})
