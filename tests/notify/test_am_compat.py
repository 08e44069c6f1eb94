"""Alertmanager's configuration forms in notify.yaml: `match`/`match_re` and their kin."""

from pathlib import Path

import pytest

from alertd.notify.config import NotifyConfig, load_notify
from alertd.notify.matchers import Matcher, MatcherError, anchored
from alertd.notify.receivers.pagerduty import PagerDutyConfig
from alertd.notify.receivers.slack import SlackConfig
from alertd.notify.receivers.webhook import WebhookConfig
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


SHIPPED_AM = Path(__file__).parents[2] / "deploy" / "alertmanager" / "notify.yaml"

AM_RECEIVERS = """\
global:
  slack_api_url: "${SLACK_URL}"
  pagerduty_url: https://pd.test/enqueue
  resolve_timeout: 5m
receivers:
  - name: default
  - name: team
    slack_configs:
      - channel: "#team"
      - api_url: https://hooks.test/other
        send_resolved: true
    pagerduty_configs:
      - routing_key: "${PD_KEY}"
        description: "{{ common_labels.alertname }} is firing"
    webhook_configs:
      - url: https://hooks.test/in
        max_alerts: 5
        send_resolved: false
    msteamsv2_configs:
      - webhook_url: https://teams.test/in
route:
  receiver: default
  routes:
    - receiver: team
      match: {team: db}
"""


def test_every_integration_of_a_receiver_is_reached(tmp_path: Path) -> None:
    env = {"SLACK_URL": "https://hooks.test/global", "PD_KEY": "k" * 32}
    config = load_ok(tmp_path, AM_RECEIVERS, env)
    assert receivers(config, team="db") == ["team", "team#2", "team#3", "team#4", "team#5"]
    assert [m.route_id for m in route(config.route, {"team": "db"})] == [
        '{}/{team="db"}',
        '{}/{team="db"}|team#2',
        '{}/{team="db"}|team#3',
        '{}/{team="db"}|team#4',
        '{}/{team="db"}|team#5',
    ]
    assert receivers(config, team="web") == ["default"]


def test_am_entries_map_onto_our_receivers_with_global_defaults(tmp_path: Path) -> None:
    env = {"SLACK_URL": "https://hooks.test/global", "PD_KEY": "k" * 32}
    got = load_ok(tmp_path, AM_RECEIVERS, env).receivers
    assert {name: (r.kind, r.send_resolved) for name, r in got.items()} == {
        "default": (None, True),
        "team": ("slack", False),  # Alertmanager's default for Slack
        "team#2": ("slack", True),
        "team#3": ("pagerduty", True),
        "team#4": ("webhook", False),
        "team#5": ("teams", True),
    }
    first, second = got["team"].integration, got["team#2"].integration
    assert isinstance(first, SlackConfig)
    assert isinstance(second, SlackConfig)
    assert first.secret("webhook_url").get_secret_value() == "https://hooks.test/global"
    assert first.channel is None  # a webhook posts to its own channel
    assert second.secret("webhook_url").get_secret_value() == "https://hooks.test/other"
    pager = got["team#3"].integration
    assert isinstance(pager, PagerDutyConfig)
    assert pager.url == "https://pd.test/enqueue"
    assert pager.summary == "{{ common_labels.alertname }} is firing"
    hook = got["team#4"].integration
    assert isinstance(hook, WebhookConfig)
    assert hook.max_alerts == 5


def test_an_integration_whose_secret_is_unset_is_skipped_alone(tmp_path: Path) -> None:
    config = load_ok(tmp_path, AM_RECEIVERS, {"PD_KEY": "k" * 32})
    assert [str(s) for s in config.skipped] == ["team: SLACK_URL is not set"]
    assert receivers(config, team="db") == ["team#2", "team#3", "team#4", "team#5"]
    assert [u.name for u in config.unavailable] == ["team"]


def test_am_receiver_errors_are_placed_in_alertmanagers_names(tmp_path: Path) -> None:
    text = """\
receivers:
  - name: default
    webhook_configs:
      - url: https://hooks.test/in
        http_config: {}
    pagerduty_configs:
      - routing_key: k
        service_key: v1
route:
  receiver: default
"""
    assert errors_of(tmp_path, text) == [
        "notify.yaml:5:9: receivers[0].webhook_configs[0].http_config: unknown key 'http_config'",
        "notify.yaml:8:9: receivers[0].pagerduty_configs[0].service_key: unknown key 'service_key'",
    ]
    missing = "receivers: [{name: d, slack_configs: [{channel: '#x'}]}]\nroute: {receiver: d}\n"
    assert errors_of(tmp_path, missing) == [
        "notify.yaml:1:39: receivers[0].slack_configs[0]: "
        "set one of api_url, api_url_file, bot_token, bot_token_file",
    ]


def test_the_shipped_alertmanager_file_loads_and_routes_like_the_native_one() -> None:
    config, errors = load_notify(SHIPPED_AM, {})
    assert errors == []
    assert config is not None
    assert sorted(s.name for s in config.skipped) == ["chat", "pagerduty"]
    assert receivers(config, severity="critical", team="db") == ["fallback"]


def test_a_skipped_entry_is_explained_in_alertmanagers_names(tmp_path: Path) -> None:
    text = """\
receivers:
  - name: default
  - name: chat
    slack_configs: [{api_url_file: missing-file}]
route:
  receiver: default
"""
    (skipped,) = load_ok(tmp_path, text).skipped
    assert str(skipped) == f"chat: api_url_file {tmp_path}/missing-file does not exist"
