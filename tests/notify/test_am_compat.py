"""Alertmanager's configuration forms in notify.yaml: `match`/`match_re` and their kin."""

from pathlib import Path

import pytest

from alertd.notify.config import NotifyConfig, load_notify
from alertd.notify.matchers import Matcher, MatcherError, anchored
from alertd.notify.routing import route


def load_ok(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> NotifyConfig:
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    config, errors = load_notify(path, env or {})
    assert [str(e) for e in errors] == []
    assert config is not None
    return config


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    config, errors = load_notify(path, {})
    assert config is None
    return [str(e).replace(str(tmp_path) + "/", "") for e in errors]


def receivers(config: NotifyConfig, **labels: str) -> list[str]:
    return [m.receiver for m in route(config.route, labels)]


MATCH = """\
receivers: [{name: default}, {name: db}, {name: web}]
route:
  receiver: default
  routes:
    - receiver: db
      match: {team: db}
      match_re: {env: "prod|staging"}
    - receiver: web
      match_re: {service: "web.*"}
inhibit_rules:
  - source_match: {severity: critical}
    target_match_re: {severity: "warn.*"}
    equal: [team]
"""


def test_match_is_equality_and_match_re_an_anchored_regex(tmp_path: Path) -> None:
    config = load_ok(tmp_path, MATCH)
    assert receivers(config, team="db", env="prod") == ["db"]
    assert receivers(config, team="db", env="production") == ["default"]  # anchored
    assert receivers(config, team="db", env="xprod") == ["default"]
    assert receivers(config, team="dba", env="prod") == ["default"]
    assert receivers(config, service="webshop") == ["web"]
    assert receivers(config, service="the-web") == ["default"]


def test_match_forms_name_the_route_like_matchers(tmp_path: Path) -> None:
    config = load_ok(tmp_path, MATCH)
    assert [c.id for c in config.route.routes] == [
        '{}/{env=~"prod|staging",team="db"}',
        '{}/{service=~"web.*"}',
    ]


def test_inhibit_rules_take_source_match_and_target_match_re(tmp_path: Path) -> None:
    (rule,) = load_ok(tmp_path, MATCH).inhibit_rules
    critical = {"severity": "critical", "team": "db"}
    assert rule.mutes({"severity": "warning", "team": "db"}, critical)
    assert not rule.mutes({"severity": "warning", "team": "web"}, critical)
    assert not rule.mutes({"severity": "info", "team": "db"}, critical)


def test_bad_match_forms_are_placed(tmp_path: Path) -> None:
    text = """\
receivers: [{name: default}]
route:
  receiver: default
  match: {a: b}
  routes:
    - match_re: {env: "(prod"}
    - match: {bad-name: x}
inhibit_rules:
  - target_match: {severity: warning}
"""
    assert errors_of(tmp_path, text) == [
        "notify.yaml:4:10: route.match: not allowed on the root route, which every alert enters",
        "notify.yaml:6:23: route.routes[0].match_re.env: invalid regex: missing ): (prod",
        "notify.yaml:7:25: route.routes[1].match.bad-name.[key]: "
        "String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'",
        "notify.yaml:9:5: inhibit_rules[0]: source_matchers: set at least one matcher "
        "(source_matchers, source_match or source_match_re)",
    ]


@pytest.mark.parametrize(
    ("regex", "text", "expected"),
    [
        ("[[:alpha:]]+", "abc", True),
        ("[[:alpha:]]+", "a]", False),
        (r"\pL+", "héllo", True),
        ("prod", "production", False),  # anchored at both ends
        ("a|b", "ab", False),  # the whole alternation is anchored
        ("a", "a\n", False),  # $ is the end of the text, not of a line
        (".*", "line\nbreak", False),  # . stops at a newline, as in Go
        ("(?s).*", "line\nbreak", True),
    ],
)
def test_regexes_have_alertmanagers_re2_semantics(regex: str, text: str, expected: bool) -> None:
    assert Matcher("a", "=~", regex).matches({"a": text}) is expected
    assert Matcher("a", "!~", regex).matches({"a": text}) is not expected


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("(?=a)", "invalid perl operator: (?="),
        (r"(a)\1", r"invalid escape sequence: \1"),
        ("(prod", "missing ): (prod"),
    ],
)
def test_regexes_re2_refuses_are_errors(regex: str, reason: str) -> None:
    with pytest.raises(MatcherError) as caught:
        Matcher("env", "=~", regex)
    assert caught.value.message == f"invalid regex for env: {reason}"


def test_each_regex_is_compiled_once() -> None:
    anchored.cache_clear()
    for _ in range(3):
        Matcher("a", "=~", "db|web").matches({"a": "db"})
    assert anchored.cache_info().misses == 1
    assert anchored.cache_info().hits >= 2
