import dataclasses
import datetime as dt

from alertd.model import AlertSnapshot, GroupState, Severity
from alertd.notify.dispatch import Dispatch, dispatch
from alertd.notify.routing import RouteMatch

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
MATCH = RouteMatch(
    route_id="route",
    receiver="oncall",
    group_by=("alertname",),
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)


def alert(table: str, severity: Severity = Severity.WARNING) -> AlertSnapshot:
    labels = (("alertname", "SlowQueryP95"), ("table", table))
    return AlertSnapshot(
        fingerprint=f"fp-{table}",
        rule="SlowQueryP95",
        labels=labels,
        firing=True,
        severity=severity,
        value=250.0,
        threshold="> 200",
        annotations={"summary": f"slow {table}"},
        starts_at=T0,
    )


class Pipeline:
    """Runs dispatch step by step, keeping groups as the store would."""

    def __init__(self) -> None:
        self.groups: dict[str, GroupState] = {}
        self.sent: list[tuple[int, bool, tuple[tuple[str, bool, str | None], ...]]] = []

    def at(
        self, seconds: int, *firing: AlertSnapshot, held: tuple[str, ...] = (), muted: bool = False
    ) -> Dispatch:
        now = T0 + dt.timedelta(seconds=seconds)
        result = dispatch(
            list(firing),
            set(held),
            self.groups,
            now,
            route=lambda _: [MATCH],
            muted=lambda _, __: muted,
        )
        self.groups = {
            k: v for k, v in {**self.groups, **result.groups}.items() if k not in result.dropped
        }
        for n in result.notifications:
            shown = tuple(
                (dict(a.labels)["table"], a.firing, a.severity.value if a.severity else None)
                for a in n.alerts
            )
            self.sent.append((seconds, n.firing, shown))
        return result


def test_first_notification_waits_for_group_wait_and_gathers_the_group() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(20, alert("users"), alert("ndas"))
    p.at(30, alert("users"), alert("ndas"))
    assert p.sent == [(30, True, (("users", True, "warning"), ("ndas", True, "warning")))]


def test_changes_wait_for_group_interval_and_repeats_for_repeat_interval() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(30, alert("users"))
    p.at(60, alert("users"), alert("ndas"))  # a change, but group_interval has not passed
    p.at(330, alert("users"), alert("ndas"))  # 5 minutes after the first flush
    p.at(600, alert("users"), alert("ndas"))  # no change: nothing
    p.at(330 + 4 * 3600, alert("users"), alert("ndas"))  # repeat_interval
    assert [(s, firing) for s, firing, _ in p.sent] == [
        (30, True),
        (330, True),
        (330 + 4 * 3600, True),
    ]
    assert p.sent[1][2] == (("users", True, "warning"), ("ndas", True, "warning"))


def test_an_escalation_is_a_change() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(30, alert("users"))
    p.at(60, alert("users", Severity.CRITICAL))
    p.at(330, alert("users", Severity.CRITICAL))
    assert p.sent[-1] == (330, True, (("users", True, "critical"),))


def test_a_partial_resolve_waits_but_a_whole_group_resolve_goes_at_once() -> None:
    p = Pipeline()
    p.at(0, alert("users"), alert("ndas"))
    p.at(30, alert("users"), alert("ndas"))
    p.at(60, alert("users"))  # ndas resolved: waits for group_interval
    p.at(90)  # everything resolved: at once, with both shown resolved
    assert p.sent[1:] == [(90, False, (("users", False, "warning"), ("ndas", False, "warning")))]
    p2 = Pipeline()
    p2.at(0, alert("users"), alert("ndas"))
    p2.at(30, alert("users"), alert("ndas"))
    p2.at(60, alert("users"))
    p2.at(330, alert("users"))
    assert p2.sent[1] == (330, True, (("users", True, "warning"), ("ndas", False, "warning")))
    assert p.groups == {}


def test_an_alert_resolved_before_group_wait_sends_nothing() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    result = p.at(20)
    assert p.sent == []
    assert result.dropped


def test_held_alerts_neither_page_nor_resolve() -> None:
    p = Pipeline()
    p.at(0, alert("users"), held=("fp-users",))
    p.at(30, alert("users"), held=("fp-users",))
    assert p.sent == []  # silenced from the start: never paged
    q = Pipeline()
    q.at(0, alert("users"))
    q.at(30, alert("users"))
    q.at(60, alert("users"), held=("fp-users",))
    q.at(400, held=("fp-users",))
    assert len(q.sent) == 1  # silenced after paging: no resolve while held


def test_a_muted_route_sends_when_the_mute_ends() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(30, alert("users"), muted=True)
    p.at(60, alert("users"))
    assert [s for s, _, _ in p.sent] == [60]


def test_notification_ids_are_stable_for_the_same_group_and_time() -> None:
    groups = {
        'route:{alertname="SlowQueryP95"}': GroupState(
            'route:{alertname="SlowQueryP95"}', "oncall", (("alertname", "SlowQueryP95"),), T0
        )
    }
    now = T0 + dt.timedelta(seconds=30)
    a = dispatch([alert("users")], set(), groups, now, route=lambda _: [MATCH])
    b = dispatch([alert("users")], set(), groups, now, route=lambda _: [MATCH])
    assert [n.id for n in a.notifications] == [n.id for n in b.notifications]
    assert a.notifications[0].group_key == 'route:{alertname="SlowQueryP95"}'


def test_a_trigger_and_a_resolve_of_one_group_at_one_instant_have_different_ids() -> None:
    key = 'route:{alertname="SlowQueryP95"}'
    now = T0 + dt.timedelta(seconds=60)
    fresh = GroupState(key, "oncall", (("alertname", "SlowQueryP95"),), T0)
    trigger = dispatch([alert("users")], set(), {key: fresh}, now, route=lambda _: [MATCH])
    resolve = dispatch([], set(), trigger.groups, now, route=lambda _: [MATCH])
    (sent,) = trigger.notifications
    (cleared,) = resolve.notifications
    assert not cleared.firing
    assert sent.id != cleared.id


def test_a_resolve_closes_the_group_so_a_held_alert_pages_afresh_when_heard() -> None:
    p = Pipeline()
    p.at(0, alert("users"), alert("ndas"))
    p.at(30, alert("users"), alert("ndas"))
    p.at(60, alert("users"), held=("fp-users",))  # users silenced, ndas resolved
    assert p.sent[-1] == (60, False, (("ndas", False, "warning"),))
    p.at(90, alert("users"), held=("fp-users",))
    assert p.groups == {}  # the incident is closed: users is not counted as notified
    p.at(120, alert("users"))  # the silence ended and users still fires
    p.at(150, alert("users"))
    assert p.sent[-1] == (150, True, (("users", True, "warning"),))


def test_every_label_grouping_keeps_an_escalating_alert_in_its_group() -> None:
    every = dataclasses.replace(MATCH, group_by=("...",))
    warning = with_severity(alert("users"), Severity.WARNING)
    critical = with_severity(alert("users", Severity.CRITICAL), Severity.CRITICAL)
    assert every.group_key(warning.labels) == every.group_key(critical.labels)
    assert "severity" not in dict(every.group_labels(critical.labels))
    assert "table" in dict(every.group_labels(critical.labels))


def with_severity(a: AlertSnapshot, severity: Severity) -> AlertSnapshot:
    return dataclasses.replace(a, labels=(*a.labels, ("severity", severity.value)))


def test_a_group_whose_route_now_names_another_receiver_moves_there() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(30, alert("users"))
    moved = dataclasses.replace(MATCH, receiver="pager")
    result = dispatch(
        [alert("users")], set(), p.groups, T0 + dt.timedelta(seconds=60), route=lambda _: [moved]
    )
    # The old receiver hears the group resolved there; the new one after its group_wait.
    assert [(n.receiver, n.firing) for n in result.notifications] == [("oncall", False)]
    (group,) = result.groups.values()
    assert group.receiver == "pager"
    assert group.last_flush is None
    later = dispatch(
        [alert("users")],
        set(),
        result.groups,
        T0 + dt.timedelta(seconds=90),
        route=lambda _: [moved],
    )
    assert [(n.receiver, n.firing) for n in later.notifications] == [("pager", True)]


def test_a_whole_group_resolve_waits_for_a_mute_to_end() -> None:
    p = Pipeline()
    p.at(0, alert("users"))
    p.at(30, alert("users"))
    p.at(60, muted=True)  # resolved during the mute: held back
    assert len(p.sent) == 1
    p.at(90)
    assert p.sent[-1] == (90, False, (("users", False, "warning"),))


def test_without_send_resolved_a_partial_resolve_is_no_news() -> None:
    groups: dict[str, GroupState] = {}
    sent: list[tuple[int, bool, int]] = []
    for seconds, firing in [
        (0, ["users", "ndas"]),
        (30, ["users", "ndas"]),  # first notification
        (60, ["users"]),  # ndas resolved: nothing to say without send_resolved
        (400, ["users"]),
        (420, ["users", "orders"]),  # a new alert is news again
        (700, []),  # the whole group resolved: still nothing
    ]:
        result = dispatch(
            [alert(t) for t in firing],
            set(),
            groups,
            T0 + dt.timedelta(seconds=seconds),
            route=lambda _: [MATCH],
            sends_resolved=lambda _: False,
        )
        groups = {k: v for k, v in {**groups, **result.groups}.items() if k not in result.dropped}
        sent += [(seconds, n.firing, len(n.alerts)) for n in result.notifications]
    assert sent == [(30, True, 2), (420, True, 2)]
