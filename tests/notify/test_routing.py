from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from alertd.notify.matchers import Matcher, parse_matchers
from alertd.notify.routing import Route, RouteMatch, inherit, route, walk

MINUTE = dt.timedelta(minutes=1)


def node(
    route_id: str,
    receiver: str,
    matchers: str = "",
    *children: Route,
    continue_: bool = False,
    delivers: bool = True,
) -> Route:
    return Route(
        RouteMatch(route_id, receiver),
        matchers=parse_matchers(matchers) if matchers else (),
        continue_=continue_,
        routes=children,
        delivers=delivers,
    )


def receivers(tree: Route, **labels: str) -> list[str]:
    return [m.receiver for m in route(tree, labels)]


TREE = node(
    "root",
    "default",
    "",
    node("db", "db-team", 'team="db"', node("db-critical", "pager", 'severity="critical"')),
    node("audit", "audit-log", 'env="prod"', continue_=True),
    node("prod", "prod-team", 'env="prod"'),
    node("late", "never", 'env="prod"'),
)


def test_an_alert_matching_no_route_ends_at_the_root() -> None:
    assert receivers(TREE, team="web", env="dev") == ["default"]


def test_the_first_matching_sibling_ends_the_search() -> None:
    assert receivers(TREE, team="db", env="prod") == ["db-team"]


def test_the_deepest_matching_route_wins_over_its_parent() -> None:
    assert receivers(TREE, team="db", severity="critical") == ["pager"]


def test_continue_lets_the_search_go_on_to_later_siblings() -> None:
    assert receivers(TREE, team="web", env="prod") == ["audit-log", "prod-team"]


def test_a_route_whose_matchers_fail_hides_its_sub_routes() -> None:
    assert receivers(TREE, team="web", severity="critical") == ["default"]


def test_root_matchers_can_exclude_an_alert_entirely() -> None:
    assert route(node("root", "default", 'env="prod"'), {"env": "dev"}) == []


def test_a_skipped_route_without_sub_routes_is_passed_over() -> None:
    tree = node(
        "root",
        "console",
        "",
        node("slack", "slack", "", delivers=False),
        node("teams", "teams", ""),
    )
    assert receivers(tree) == ["teams"]


def test_a_skipped_route_still_hands_alerts_to_its_sub_routes() -> None:
    tree = node(
        "root",
        "console",
        "",
        node(
            "db",
            "db-slack",
            'team="db"',
            node("page", "pager", 'severity="critical"'),
            delivers=False,
        ),
        node("other", "team-slack", 'team=~".+"'),
    )
    assert receivers(tree, team="db", severity="critical") == ["pager"]
    # Where the skipped route would be the match, the search goes on as if it were absent.
    assert receivers(tree, team="db", severity="warning") == ["team-slack"]


def test_the_shipped_shape_ends_at_the_console_only_when_nothing_else_delivers() -> None:
    def tree(*configured: str) -> Route:
        return node(
            "route",
            "console",
            "",
            node(
                "pd",
                "pagerduty",
                'severity="critical"',
                continue_=True,
                delivers="pagerduty" in configured,
            ),
            node("slack", "slack", "", continue_=True, delivers="slack" in configured),
            node("teams", "teams", "", continue_=True, delivers="teams" in configured),
        )

    assert receivers(tree(), severity="critical") == ["console"]
    assert receivers(tree("slack"), severity="critical") == ["slack"]
    assert receivers(tree("pagerduty"), severity="warning") == ["console"]
    assert receivers(tree("pagerduty", "slack", "teams"), severity="critical") == [
        "pagerduty",
        "slack",
        "teams",
    ]


def test_sub_routes_inherit_what_they_do_not_write_but_time_intervals() -> None:
    root = RouteMatch(
        "route",
        "console",
        group_by=("alertname",),
        group_wait=MINUTE,
        mute_time_intervals=("nights",),
    )
    child = inherit(root, "route.routes[0]", receiver="pager", repeat_interval=30 * MINUTE)
    assert child == RouteMatch(
        "route.routes[0]",
        "pager",
        group_by=("alertname",),
        group_wait=MINUTE,
        repeat_interval=30 * MINUTE,
    )
    assert inherit(child, "x", mute_time_intervals=["n"]).mute_time_intervals == ("n",)
    assert inherit(child, "x", active_time_intervals=["o"]).active_time_intervals == ("o",)
    assert inherit(child, "x", group_by=[]).group_by == ()


def test_group_labels_pick_the_group_by_labels_the_alert_has() -> None:
    match = RouteMatch("route", "console", group_by=("alertname", "team"))
    labels = (("alertname", "Slow"), ("table", "users"))
    assert match.group_labels(labels) == (("alertname", "Slow"),)
    assert RouteMatch("route", "c", group_by=("...",)).group_labels(labels) == labels
    assert RouteMatch("route", "c").group_labels(labels) == ()


def test_group_keys_differ_per_route_and_escape_values() -> None:
    labels = (("alertname", 'say "hi"'),)
    first = RouteMatch("route.routes[0]", "slack", group_by=("alertname",))
    second = RouteMatch("route.routes[1]", "slack", group_by=("alertname",))
    assert first.group_key(labels) == 'route.routes[0]:{alertname="say \\"hi\\""}'
    assert first.group_key(labels) != second.group_key(labels)


def test_walk_visits_parents_before_children_in_file_order() -> None:
    assert [r.id for r in walk(TREE)] == ["root", "db", "db-critical", "audit", "prod", "late"]


# A route tree as written (None inherits), built the way the configuration builds it, and
# compared with Alertmanager's rule restated over the written tree.


@dataclass(frozen=True)
class Written:
    matchers: tuple[Matcher, ...]
    continue_: bool
    receiver: str | None
    group_wait: dt.timedelta | None
    mute: tuple[str, ...] | None
    children: tuple[Written, ...]


SKIPPED = {"skipped"}
label_values = st.sampled_from(["1", "2", ""])
matcher_strategy = st.builds(
    Matcher,
    st.sampled_from(["a", "b"]),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.sampled_from(["1", "2", "", "1|2"]),
)


def written(children: st.SearchStrategy[tuple[Written, ...]]) -> st.SearchStrategy[Written]:
    return st.builds(
        Written,
        st.lists(matcher_strategy, max_size=2).map(tuple),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from(["r1", "r2", "skipped"])),
        st.one_of(st.none(), st.integers(0, 3).map(lambda n: n * MINUTE)),
        st.one_of(st.none(), st.sampled_from([(), ("nights",)])),
        children,
    )


trees = st.recursive(
    written(st.just(())),
    lambda inner: written(st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12,
)


def build(spec: Written, parent: RouteMatch, route_id: str) -> Route:
    settings = inherit(
        parent,
        route_id,
        receiver=spec.receiver,
        group_wait=spec.group_wait,
        mute_time_intervals=spec.mute,
    )
    return Route(
        settings,
        spec.matchers,
        spec.continue_,
        tuple(build(c, settings, f"{route_id}.{i}") for i, c in enumerate(spec.children)),
        delivers=settings.receiver not in SKIPPED,
    )


def reference(root: Written, labels: dict[str, str]) -> list[tuple[str, str, object, object]]:
    found: list[tuple[str, str, object, object]] = []

    def nearest(chain: list[Written], pick: str, default: object) -> object:
        return next(
            (getattr(n, pick) for n in reversed(chain) if getattr(n, pick) is not None), default
        )

    def visit(spec: Written, chain: list[Written], route_id: str) -> bool:
        if not all(m.matches(labels) for m in spec.matchers):
            return False
        chain = [*chain, spec]
        produced = False
        for index, child in enumerate(spec.children):
            if visit(child, chain, f"{route_id}.{index}"):
                produced = True
                if not child.continue_:
                    break
        if produced:
            return True
        receiver = nearest(chain, "receiver", "root")
        if receiver in SKIPPED:
            return False
        found.append(
            (
                route_id,
                str(receiver),
                nearest(chain, "group_wait", 30 * dt.timedelta(seconds=1)),
                spec.mute or (),  # a route's own, never its parent's
            )
        )
        return True

    visit(root, [], "route")
    return found


@given(trees, st.fixed_dictionaries({"a": label_values, "b": label_values}))
def test_routing_agrees_with_alertmanagers_rule_restated(
    tree: Written, labels: dict[str, str]
) -> None:
    present = {name: value for name, value in labels.items() if value}
    built = build(tree, RouteMatch("route", "root"), "route")
    got = [
        (m.route_id, m.receiver, m.group_wait, m.mute_time_intervals) for m in route(built, present)
    ]
    assert got == reference(tree, present)
    assert all(m.receiver not in SKIPPED for m in route(built, present))
    assert len({m.route_id for m in route(built, present)}) == len(got)


@given(trees, st.fixed_dictionaries({"a": label_values, "b": label_values}))
def test_an_alert_entering_a_delivering_root_always_ends_somewhere(
    tree: Written, labels: dict[str, str]
) -> None:
    root = Written((), False, "r1", None, None, tree.children)
    assert route(build(root, RouteMatch("route", "root"), "route"), labels)
