import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.model import Severity
from alertd.notify.config import NotifyConfig, console_only, load_notify, notify_files
from alertd.notify.inhibit import InhibitRule
from alertd.notify.matchers import parse_matchers, with_identity
from alertd.notify.receiver_config import SkippedReceiver
from alertd.notify.receivers.fields import expand
from alertd.notify.receivers.pagerduty import PagerDutyConfig
from alertd.notify.receivers.slack import SlackConfig
from alertd.notify.receivers.webhook import WebhookConfig
from alertd.notify.routing import RouteMatch, route, walk
from alertd.notify.time_intervals import TimeInterval, TimeRange, muted
from alertd.rules.loader import load as load_rules

SHIPPED = Path(__file__).parents[2] / "rules" / "notify.yaml"
MINUTE = dt.timedelta(minutes=1)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/s3cr3tSLACKtoken"

FULL = """\
receivers:
  - name: slack
    send_resolved: false
    slack: {webhook_url: "${SLACK_WEBHOOK_URL}"}
  - name: slack-bot
    slack: {bot_token_file: "${CREDENTIALS_DIRECTORY}/bot", channel: "#alerts"}
  - name: pagerduty
    pagerduty: {routing_key: "${PAGERDUTY_ROUTING_KEY}", url: "${PD_URL:-https://pd.test/enqueue}"}
  - name: hook
    webhook: {url: "https://hooks.test/in", bearer_token: "${HOOK_TOKEN}", max_alerts: 10}
  - name: console
    console: {format: json}
  - name: blackhole
route:
  receiver: console
  group_by: [alertname, team]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"', 'team=~"db|platform"', 'env!="dev"']
      receiver: pagerduty
      continue: true
      group_wait: 10s
      mute_time_intervals: [nights]
      routes:
        - matchers: ['{table="audit", env="prod"}']
          receiver: hook
          group_by: ["..."]
          mute_time_intervals: []
    - receiver: slack
      active_time_intervals: [office]
    - matchers: [alertname="Noise"]
      receiver: blackhole
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, table]
time_intervals:
  - name: nights
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: "22:00", end_time: "24:00"}]
        location: Europe/Berlin
      - days_of_month: ['-1']
        months: ['december']
        years: ['2025:2026']
  - name: office
    time_intervals:
      - weekdays: [monday:friday]
        times: [{start_time: "09:00", end_time: "17:00"}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    return path


def load_ok(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> NotifyConfig:
    config, errors = load_notify(write(tmp_path, text), env or {})
    assert [str(e) for e in errors] == []
    assert config is not None
    return config


def errors_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    config, errors = load_notify(write(tmp_path, text), env or {})
    assert config is None
    return [str(e).replace(str(tmp_path) + "/", "") for e in errors]


def receivers_for(config: NotifyConfig, severity: Severity, **labels: str) -> list[str]:
    identity = with_identity("SlowQueryP95", tuple(sorted(labels.items())), severity)
    return [m.receiver for m in route(config.route, identity)]


def test_the_shipped_config_ends_at_the_console_when_no_secret_is_set() -> None:
    config, errors = load_notify(SHIPPED, {})
    assert errors == []
    assert config is not None
    assert list(config.receivers) == ["console"]
    assert [str(s) for s in config.skipped] == [
        "slack: SLACK_WEBHOOK_URL is not set",
        "teams: TEAMS_WEBHOOK_URL is not set",
        "pagerduty: PAGERDUTY_ROUTING_KEY is not set",
    ]
    assert receivers_for(config, Severity.CRITICAL, team="database") == ["console"]
    assert receivers_for(config, Severity.WARNING, team="database") == ["console"]


def test_the_shipped_config_sends_to_every_configured_channel_and_pages_on_critical() -> None:
    env = {
        "SLACK_WEBHOOK_URL": SLACK_URL,
        "TEAMS_WEBHOOK_URL": "https://prod-1.westeurope.logic.azure.com/workflows/x?sig=abc",
        "PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY",
        "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9/v2/enqueue",
    }
    config, errors = load_notify(SHIPPED, env)
    assert errors == []
    assert config is not None
    assert receivers_for(config, Severity.CRITICAL) == ["pagerduty", "slack", "teams"]
    assert receivers_for(config, Severity.WARNING) == ["slack", "teams"]
    pagerduty = config.receivers["pagerduty"].integration
    assert isinstance(pagerduty, PagerDutyConfig)
    assert pagerduty.url == "http://127.0.0.1:9/v2/enqueue"
    assert pagerduty.routing_key is not None
    assert pagerduty.routing_key.get_secret_value() == "R0UT1NGKEY"


def test_the_shipped_inhibit_rule_mutes_warnings_about_the_same_table() -> None:
    config, _ = load_notify(SHIPPED, {})
    assert config is not None
    (rule,) = config.inhibit_rules
    assert rule.mutes(
        {"severity": "warning", "team": "database", "table": "users"},
        {"severity": "critical", "team": "database", "table": "users"},
    )
    assert not rule.mutes(
        {"severity": "warning", "team": "database", "table": "users"},
        {"severity": "critical", "team": "database", "table": "orders"},
    )


def test_the_rules_loader_leaves_the_notification_file_alone() -> None:
    result = load_rules([SHIPPED.parent])
    assert not [e for e in result.errors if "notify.yaml" in str(e)]
    assert notify_files([SHIPPED.parent]) == [SHIPPED]


def test_a_full_file_loads_with_every_setting(tmp_path: Path) -> None:
    (tmp_path / "bot").write_text("xoxb-from-file\n")
    env = {
        "SLACK_WEBHOOK_URL": SLACK_URL,
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "PAGERDUTY_ROUTING_KEY": "key",
        "HOOK_TOKEN": "tok",
    }
    config = load_ok(tmp_path, FULL, env)
    assert config.skipped == ()
    slack = config.receivers["slack"]
    assert slack.send_resolved is False
    assert config.receivers["console"].send_resolved is True
    bot = config.receivers["slack-bot"].integration
    assert isinstance(bot, SlackConfig)
    assert bot.bot_token is not None
    assert bot.bot_token.get_secret_value() == "xoxb-from-file"
    assert bot.bot_token_file is None
    assert bot.channel == "#alerts"
    pagerduty = config.receivers["pagerduty"].integration
    assert isinstance(pagerduty, PagerDutyConfig)
    assert pagerduty.url == "https://pd.test/enqueue"
    hook = config.receivers["hook"].integration
    assert isinstance(hook, WebhookConfig)
    assert hook.max_alerts == 10
    assert config.receivers["blackhole"].integration is None
    assert config.receivers["blackhole"].kind is None
    assert config.receivers["hook"].kind == "webhook"

    (paging, audit, _, _) = [r.settings for r in walk(config.route)][1:]
    assert paging == RouteMatch(
        '{}/{env!="dev",severity="critical",team=~"db|platform"}',
        "pagerduty",
        group_by=("alertname", "team"),
        group_wait=10 * dt.timedelta(seconds=1),
        group_interval=5 * MINUTE,
        repeat_interval=4 * 60 * MINUTE,
        mute_time_intervals=("nights",),
    )
    assert audit.route_id == paging.route_id + '/{env="prod",table="audit"}'
    assert audit.group_by == ("...",)
    assert audit.group_wait == 10 * dt.timedelta(seconds=1)
    assert audit.mute_time_intervals == ()

    critical_audit = {"severity": "critical", "team": "db", "table": "audit", "env": "prod"}
    assert [m.receiver for m in route(config.route, critical_audit)] == ["hook", "slack"]
    assert [m.receiver for m in route(config.route, {"alertname": "Noise"})] == ["slack"]
    assert config.inhibit_rules == (
        InhibitRule(
            parse_matchers('severity="critical"'),
            parse_matchers('severity="warning"'),
            ("alertname", "table"),
        ),
    )
    night, year_end = config.time_intervals["nights"]
    assert night == TimeInterval(
        times=(TimeRange(22 * 60, 24 * 60),),
        weekdays=((0, 4),),
        location=ZoneInfo("Europe/Berlin"),
    )
    assert year_end == TimeInterval(
        days_of_month=((-1, -1),), months=((12, 12),), years=((2025, 2026),)
    )
    friday_2230_berlin = dt.datetime(2025, 3, 7, 21, 30, tzinfo=dt.UTC)
    assert muted(paging.mute_time_intervals, (), config.time_intervals, friday_2230_berlin)
    assert muted((), ("office",), config.time_intervals, friday_2230_berlin)


def test_a_receiver_with_an_unset_variable_is_skipped_and_its_route_falls_through(
    tmp_path: Path,
) -> None:
    config = load_ok(tmp_path, FULL, {"CREDENTIALS_DIRECTORY": str(tmp_path), "HOOK_TOKEN": ""})
    assert {str(s) for s in config.skipped} == {
        "slack: SLACK_WEBHOOK_URL is not set",
        f"slack-bot: bot_token_file {tmp_path}/bot does not exist",
        "pagerduty: PAGERDUTY_ROUTING_KEY is not set",
        "hook: HOOK_TOKEN is empty",
    }
    critical_audit = {"severity": "critical", "team": "db", "table": "audit", "env": "prod"}
    assert [m.receiver for m in route(config.route, critical_audit)] == ["console"]


def test_an_empty_secret_file_skips_its_receiver(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("\n")
    text = """\
receivers:
  - {name: console, console: {}}
  - name: pd
    pagerduty: {routing_key_file: key}
route: {receiver: console}
"""
    config = load_ok(tmp_path, text)
    assert config.skipped == (SkippedReceiver("pd", f"routing_key_file {tmp_path}/key is empty"),)


def test_a_relative_secret_file_is_read_beside_the_notification_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("abc123\n")
    text = (
        "receivers:\n  - name: pd\n    pagerduty: {routing_key_file: key}\nroute: {receiver: pd}\n"
    )
    integration = load_ok(tmp_path, text).receivers["pd"].integration
    assert isinstance(integration, PagerDutyConfig)
    assert integration.routing_key is not None
    assert integration.routing_key.get_secret_value() == "abc123"


def test_a_skipped_root_receiver_is_an_error(tmp_path: Path) -> None:
    text = """\
receivers:
  - name: slack
    slack: {webhook_url: '${SLACK_WEBHOOK_URL}'}
route:
  receiver: slack
"""
    assert errors_of(tmp_path, text) == [
        "notify.yaml:5:13: route.receiver: the root route must end at a configured receiver, "
        "but slack: SLACK_WEBHOOK_URL is not set"
    ]


BROKEN = """\
receivers:
  - name: slack
    slack: {webhook_url: "${SLACK_WEBHOOK_URL", channel: "#x"}
  - name: slack
    console: {}
    teams: {webhook_url: x}
  - name: pd
    pagerduty: {routing_key: k, token: t}
route:
  receiver: console
  matchers: ['a="b"']
  group_by: [alertname, "..."]
  group_wait: soon
  routes:
    - receiver: pager
      matchers: ['severity="critical"', 'team=~"db|platform', 'env!~"("']
      repeat_interval: 0s
      mute_time_intervals: [night]
inhibit_rules:
  - source_matchers: []
    target_matchers: ['severity=warning']
    equal: [alert-name]
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: "22:00", end_time: "06:00"}]
        weekdays: [funday]
        days_of_month: ['0']
        location: Mars/Olympus
"""


EXPECTED_ERRORS = """\
notify.yaml:3:26: receivers[0].slack.webhook_url: unterminated ${ (write $$ for a literal $)
notify.yaml:4:5: receivers[1]: a receiver has one integration, found teams and console: make one receiver each and route with continue: true
notify.yaml:4:11: receivers[1].name: 'slack' is defined twice
notify.yaml:8:33: receivers[2].pagerduty.token: unknown key 'token'
notify.yaml:10:13: route.receiver: unknown receiver 'console' (defined: pd, slack)
notify.yaml:11:13: route.matchers: not allowed on the root route, which every alert enters
notify.yaml:12:13: route.group_by: "..." means every label, so it must stand alone
notify.yaml:13:15: route.group_wait: invalid duration 'soon': expected e.g. 30s, 5m, 1h30m (units ms s m h d w)
notify.yaml:15:17: route.routes[0].receiver: unknown receiver 'pager' (defined: pd, slack)
notify.yaml:16:48: route.routes[0].matchers[1]: invalid matcher: missing closing quote
notify.yaml:16:64: route.routes[0].matchers[2]: invalid matcher: invalid regex for env: missing ): (
notify.yaml:17:24: route.routes[0].repeat_interval: must be longer than 0s
notify.yaml:18:29: route.routes[0].mute_time_intervals[0]: unknown time interval 'night' (defined: nights)
notify.yaml:22:13: inhibit_rules[0].equal[0]: String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'
notify.yaml:26:49: time_intervals[0].time_intervals[0].times[0].end_time: end_time 06:00 is not after start_time 22:00; a range cannot cross midnight, so split it into two (…–24:00 and 00:00–…)
notify.yaml:27:20: time_intervals[0].time_intervals[0].weekdays[0]: unknown weekday 'funday': expected one of monday, tuesday, wednesday, thursday, friday, saturday, sunday
notify.yaml:28:25: time_intervals[0].time_intervals[0].days_of_month[0]: day of month 0 does not exist: use 1 to 31, or -1 for the last day
notify.yaml:29:19: time_intervals[0].time_intervals[0].location: unknown time zone 'Mars/Olympus'
"""  # noqa: E501


def test_every_error_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    assert errors_of(tmp_path, BROKEN) == EXPECTED_ERRORS.splitlines()


def test_a_matcher_error_points_into_the_string(tmp_path: Path) -> None:
    text = """\
receivers: [{name: c, console: {}}]
route:
  receiver: c
  routes:
    - matchers: ['team=db', 'severity critical']
"""
    assert errors_of(tmp_path, text) == [
        "notify.yaml:5:39: route.routes[0].matchers[1]: invalid matcher: expected an operator "
        "(=, !=, =~, !~) after 'severity'"
    ]


def test_a_url_that_is_not_one_is_an_error_that_hides_the_value(tmp_path: Path) -> None:
    text = """\
receivers:
  - name: s
    slack: {webhook_url: '${SLACK_WEBHOOK_URL}'}
route: {receiver: s}
"""
    assert errors_of(tmp_path, text, {"SLACK_WEBHOOK_URL": "hooks.slack.com/T/B/s3cr3t"}) == [
        "notify.yaml:3:26: receivers[0].slack.webhook_url: "
        "is not an http(s) URL once expanded (value not shown)"
    ]


def test_an_unreadable_or_missing_file_is_one_error(tmp_path: Path) -> None:
    config, errors = load_notify(tmp_path / "absent.yaml", {})
    assert config is None
    assert [e.message for e in errors] == ["cannot read: No such file or directory"]
    (broken_yaml,) = errors_of(tmp_path, "receivers: [\n")
    assert broken_yaml.startswith("notify.yaml:2:1: invalid YAML")


def test_console_only_sends_everything_to_the_console() -> None:
    config = console_only()
    assert [m.receiver for m in route(config.route, {"alertname": "X"})] == ["console"]
    assert config.receivers["console"].kind == "console"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, ("1", None)),
        ("x${A}y${B}", {"A": "1", "B": "2"}, ("x1y2", None)),
        ("${A:-https://d}", {}, ("https://d", None)),
        ("${A:-https://d}", {"A": ""}, ("https://d", None)),
        ("${A}", {}, ("", "A is not set")),
        ("${A}", {"A": ""}, ("", "A is empty")),
        ("$$5 and $HOME", {}, ("$5 and $HOME", None)),
        ("${A}${B}", {}, ("", "A is not set")),
    ],
)
def test_references_expand_from_the_given_environment(
    text: str, env: dict[str, str], expected: tuple[str, str | None]
) -> None:
    assert expand(text, env) == expected


@pytest.mark.parametrize("text", ["${A", "${}", "${1A}", "${A-b}"])
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"\$\{"):
        expand(text, {})


secrets = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=12, max_size=24)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(slack=secrets, token=secrets, inline=secrets)
def test_no_secret_reaches_an_error_or_a_repr(
    tmp_path: Path, slack: str, token: str, inline: str
) -> None:
    (tmp_path / "token").write_text(token)
    good = f"""\
receivers:
  - name: slack
    slack: {{webhook_url: "${{SLACK_WEBHOOK_URL}}"}}
  - name: bot
    slack: {{bot_token_file: token, channel: "#a"}}
  - name: hook
    webhook: {{url: "https://h.test/{inline}", hmac_secret: "{inline}"}}
route: {{receiver: slack}}
"""
    config, errors = load_notify(
        write(tmp_path, good), {"SLACK_WEBHOOK_URL": f"https://s.test/{slack}"}
    )
    assert errors == []
    assert config is not None
    shown = repr(config) + str(config) + "".join(repr(r) for r in config.receivers.values())
    for secret in (slack, token, inline):
        assert secret not in shown

    # A shape error beside an inline secret, and a secret that is not the URL it should be.
    misshapen = good.replace('channel: "#a"', f'channel: "#a", extra: "{inline}"')
    _, shape_errors = load_notify(write(tmp_path, misshapen), {})
    _, url_errors = load_notify(write(tmp_path, good), {"SLACK_WEBHOOK_URL": slack})
    assert shape_errors
    assert url_errors
    shown = "\n".join(str(e) + repr(e) for e in shape_errors + url_errors)
    for secret in (slack, token, inline):
        assert secret not in shown


def test_a_receiver_model_prints_without_its_secret() -> None:
    hidden = SlackConfig.model_validate({"webhook_url": SLACK_URL})
    assert "s3cr3t" not in repr(hidden) + str(hidden) + hidden.model_dump_json()


def test_unquoted_times_and_ranges_that_yaml_reads_as_numbers_get_a_hint(tmp_path: Path) -> None:
    text = """\
receivers: [{name: c, console: {}}]
route: {receiver: c}
time_intervals:
  - name: n
    time_intervals:
      - times: [{start_time: 22:00, end_time: "24:00"}]
        days_of_month: [1:5, 15]
"""
    assert errors_of(tmp_path, text) == [
        "notify.yaml:6:30: time_intervals[0].time_intervals[0].times[0].start_time: "
        'quote times, e.g. "22:00": YAML reads them as numbers',
        "notify.yaml:7:25: time_intervals[0].time_intervals[0].days_of_month[0]: "
        "day of month 65 is out of range (-31 to 31); quote ranges such as '1:5', "
        "which YAML reads as numbers",
    ]


def test_a_route_keeps_its_identity_when_routes_are_reordered(tmp_path: Path) -> None:
    """Group and dedup keys derive from it: a reorder must not re-page firing alerts."""

    def ids(routes: str) -> set[str]:
        text = "receivers:\n  - name: c\n    console: {}\nroute:\n  receiver: c\n  routes:\n"
        return {r.id for r in walk(load_ok(tmp_path, text + routes).route)}

    db = '    - matchers: [team="db"]\n'
    api = '    - matchers: [team="api"]\n      continue: true\n'
    twin = '    - matchers: [team="db"]\n      group_by: [table]\n'
    assert ids(db + api) == ids(api + db) == {"{}", '{}/{team="db"}', '{}/{team="api"}'}
    assert ids(db + api + twin) == {"{}", '{}/{team="db"}', '{}/{team="api"}', '{}/{team="db"}#2'}


def test_an_unknown_receiver_lists_the_defined_ones_on_one_line(tmp_path: Path) -> None:
    text = 'receivers:\n  - name: "a\\nb"\nroute:\n  receiver: console\n'
    errors = errors_of(tmp_path, text)
    unknown = [e for e in errors if "unknown receiver 'console'" in e]
    assert unknown, errors
    assert all("\n" not in e for e in errors)
    assert "(defined: 'a\\nb')" in unknown[0]


def test_a_slack_bot_may_name_its_web_api_and_a_webhook_may_not() -> None:
    bot = SlackConfig.model_validate(
        {"bot_token": "xoxb-1", "channel": "C0123ABCD", "api_url": "https://slack-gov.com/api"}
    )
    assert bot.api_url == "https://slack-gov.com/api"
    with pytest.raises(ValueError, match="api_url needs a bot_token"):
        SlackConfig.model_validate({"webhook_url": SLACK_URL, "api_url": "https://x.test/api"})
