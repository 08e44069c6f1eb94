from hypothesis import given
from hypothesis import strategies as st

from alertd.model import Labels
from alertd.notify.inhibit import InhibitRule, inhibited, inhibitor
from alertd.notify.matchers import parse_matchers

CRITICAL_MUTES_WARNING = InhibitRule(
    source=parse_matchers('severity="critical"'),
    target=parse_matchers('severity="warning"'),
    equal=("team", "table"),
)


def alert(**labels: str) -> Labels:
    return tuple(sorted(labels.items()))


WARNING_USERS = alert(alertname="SlowQueryP95", severity="warning", team="db", table="users")
CRITICAL_USERS = alert(alertname="FailedQueryRate", severity="critical", team="db", table="users")
CRITICAL_ORDERS = alert(alertname="FailedQueryRate", severity="critical", team="db", table="orders")


def test_a_firing_source_mutes_a_target_with_equal_labels() -> None:
    assert inhibited(WARNING_USERS, [CRITICAL_USERS], [CRITICAL_MUTES_WARNING])
    assert inhibitor(WARNING_USERS, [CRITICAL_USERS], [CRITICAL_MUTES_WARNING]) == CRITICAL_USERS


def test_a_source_with_different_equal_labels_does_not_mute() -> None:
    assert not inhibited(WARNING_USERS, [CRITICAL_ORDERS], [CRITICAL_MUTES_WARNING])


def test_labels_missing_on_both_sides_count_as_equal() -> None:
    warning = alert(alertname="DbConnErrors", severity="warning", team="db")
    critical = alert(alertname="FailedQueryRate", severity="critical", team="db")
    assert inhibited(warning, [critical], [CRITICAL_MUTES_WARNING])
    assert not inhibited(warning, [CRITICAL_USERS], [CRITICAL_MUTES_WARNING])


def test_an_alert_that_is_not_a_target_is_never_muted() -> None:
    assert not inhibited(CRITICAL_ORDERS, [CRITICAL_USERS], [CRITICAL_MUTES_WARNING])


def test_no_firing_alerts_or_no_rules_mute_nothing() -> None:
    assert not inhibited(WARNING_USERS, [], [CRITICAL_MUTES_WARNING])
    assert not inhibited(WARNING_USERS, [CRITICAL_USERS], [])


def test_an_alert_matching_both_sides_does_not_inhibit_itself() -> None:
    broad = InhibitRule(
        source=parse_matchers('severity=~"warning|critical"'),
        target=parse_matchers('severity=~"warning|critical"'),
        equal=("table",),
    )
    assert not inhibited(CRITICAL_USERS, [CRITICAL_USERS], [broad])
    # The same alert given as a mapping is still recognised as itself.
    assert not inhibited(dict(CRITICAL_USERS), [CRITICAL_USERS], [broad])
    # Alertmanager's rule: a target that also matches the source side is muted only by a
    # source that does not match the target side; here every alert matches both.
    assert not inhibited(WARNING_USERS, [CRITICAL_USERS, WARNING_USERS], [broad])


def test_any_rule_may_mute() -> None:
    other = InhibitRule(
        source=parse_matchers('alertname="DatabaseDown"'),
        target=parse_matchers('team="db"'),
    )
    down = alert(alertname="DatabaseDown", severity="critical", team="infra")
    assert inhibited(WARNING_USERS, [down], [CRITICAL_MUTES_WARNING, other])


names = st.sampled_from(["severity", "team", "table"])
small_labels = st.dictionaries(names, st.sampled_from(["warning", "critical", "db", "x"])).map(
    lambda d: tuple(sorted(d.items()))
)


@given(small_labels, st.lists(small_labels, max_size=4), st.lists(names, max_size=3))
def test_inhibition_agrees_with_its_definition(
    target: Labels, firing: list[Labels], equal: list[str]
) -> None:
    rule = InhibitRule(
        source=parse_matchers('severity="critical"'),
        target=parse_matchers('severity="warning"'),
        equal=tuple(equal),
    )
    t = dict(target)
    expected = t.get("severity") == "warning" and any(
        dict(s) != t
        and dict(s).get("severity") == "critical"
        and all(dict(s).get(n, "") == t.get(n, "") for n in equal)
        for s in firing
    )
    assert inhibited(target, firing, [rule]) is expected


def test_alerts_matching_both_sides_never_mute_each_other() -> None:
    # "While anything critical fires for a team, mute that team's other alerts."
    team_rule = InhibitRule(
        source=parse_matchers('severity="critical"'),
        target=parse_matchers('team="db"'),
        equal=("team",),
    )
    firing = [CRITICAL_USERS, CRITICAL_ORDERS, WARNING_USERS]
    muted = [labels for labels in firing if inhibited(labels, firing, [team_rule])]
    assert muted == [WARNING_USERS]  # both criticals page; the warning is muted
