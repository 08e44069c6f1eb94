from hypothesis import given
from hypothesis import strategies as st

from alertd.model import Labels
from alertd.notify.inhibit import Inhibitor, InhibitRule, inhibited, inhibitor
from alertd.notify.matchers import matches_all, parse_matcher, parse_matchers

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


def muted_by_pairwise(
    target: Labels, firing: list[Labels], rules: list[InhibitRule]
) -> Labels | None:
    """The reference model: the first firing alert that mutes `target` under any rule,
    by comparing `target` with every firing alert (Alertmanager's definition)."""
    t = dict(target)
    for source_labels in firing:
        s = dict(source_labels)
        if s == t:
            continue
        for rule in rules:
            two_sided = matches_all(rule.source, t)
            if (
                matches_all(rule.target, t)
                and matches_all(rule.source, s)
                and not (two_sided and matches_all(rule.target, s))
                and all(t.get(n, "") == s.get(n, "") for n in rule.equal)
            ):
                return source_labels
    return None


# Few names and values, so that sources, targets and equal values often collide; regexes
# and negative matchers, so that an alert may match both sides of a rule or neither.
some_matchers = st.lists(
    st.sampled_from(
        [
            'severity="critical"',
            'severity="warning"',
            'severity=~"warning|critical"',
            'severity!="critical"',
            'team="db"',
            'team=~"d.*"',
            'team=""',
            'table!~"users"',
        ]
    ).map(parse_matcher),
    min_size=1,
    max_size=2,
).map(tuple)
some_rules = st.builds(
    InhibitRule,
    some_matchers,
    some_matchers,
    st.lists(st.sampled_from(["team", "table", "endpoint"]), max_size=3).map(tuple),
)
some_labels = st.fixed_dictionaries(
    {"severity": st.sampled_from(["warning", "critical"])},
    optional={"team": st.sampled_from(["db", "web", ""]), "table": st.sampled_from(["users", "a"])},
).map(lambda d: tuple(sorted(d.items())))


@given(
    st.lists(some_labels, max_size=12),
    st.lists(some_labels, max_size=3),
    st.lists(some_rules, max_size=3),
)
def test_the_index_answers_as_comparing_every_pair_does(
    firing: list[Labels], others: list[Labels], rules: list[InhibitRule]
) -> None:
    index = Inhibitor(firing, rules)
    for target in [*firing, *others]:
        expected = muted_by_pairwise(target, firing, rules)
        assert index.muted_by(target) == expected
        assert index.muted_by(dict(target)) == expected
        assert index.mutes(target) is (expected is not None)
