import datetime as dt
from pathlib import Path

from alertd.engine.verdict import judge
from alertd.model import Severity, Status
from alertd.query.results import SeriesValue
from tests.engine.timeline import Timeline, changes, make_rule, pages

SLOW = """\
    value: p95(duration)
    thresholds: {warning: "> 150", critical: "> 200"}
    for: 1m
"""


def test_breach_goes_pending_then_fires_after_for_then_resolves(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([100, 160, 160, 160, 160, 100])
    assert changes(line.transitions) == [
        (1, "pending", "warning"),
        (3, "firing", "warning"),  # 60 s after the first breach: `for` is inclusive
        (5, "resolved", "warning"),
    ]


def test_without_for_an_alert_fires_at_once(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s")))
    line.feed([250, 100])
    assert changes(line.transitions) == [(0, "firing", "critical"), (1, "resolved", "critical")]


def test_a_breach_shorter_than_for_is_cancelled_without_firing(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([160, 160, 100, 100])
    assert changes(line.transitions) == [(0, "pending", "warning"), (2, "cancelled", "warning")]
    assert pages(line.transitions) == 0


def test_escalation_and_deescalation_are_transitions_of_the_same_alert(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([160, 160, 160, 250, 250, 170, 100])
    assert changes(line.transitions) == [
        (0, "pending", "warning"),
        (2, "firing", "warning"),
        (3, "escalated", "critical"),
        (5, "deescalated", "warning"),
        (6, "resolved", "warning"),
    ]
    assert len({t.fingerprint for t in line.transitions}) == 1


def test_pending_takes_the_severity_it_has_when_for_elapses(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([160, 250, 250])
    assert changes(line.transitions) == [(0, "pending", "warning"), (2, "firing", "critical")]


def test_keep_firing_for_rides_out_a_short_dip(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    keep_firing_for: 1m"))
    line = Timeline(rule)
    line.feed([250, 100, 250, 100, 100, 100])
    # Breach at 0 and 2; the dip at 1 is ridden out; resolved 60 s after the last breach.
    assert changes(line.transitions) == [(0, "firing", "critical"), (4, "resolved", "critical")]


def test_flapping_without_hysteresis_pages_every_crossing(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s"))
    line = Timeline(rule)
    line.feed([205, 195, 205, 195, 205, 195, 205, 195])
    # Each crossing of 200 escalates or de-escalates; each of 150 never happens.
    assert pages(line.transitions) == 8


def test_flapping_with_hysteresis_pages_once_and_resolves_once(tmp_path: Path) -> None:
    body = """\
    value: p95(duration)
    thresholds: {critical: "> 200"}
    recover: "< 180"
"""
    flapping = [205, 195, 205, 195, 205, 195, 205, 195, 170]
    without = Timeline(make_rule(tmp_path, body.replace('    recover: "< 180"\n', "")))
    without.feed(flapping)
    with_recover = Timeline(make_rule(tmp_path, body))
    with_recover.feed(flapping)
    assert pages(without.transitions) == 8
    assert changes(with_recover.transitions) == [
        (0, "firing", "critical"),
        (8, "resolved", "critical"),
    ]


def test_too_few_samples_keep_a_pending_alert_pending_without_firing_it(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 1m\n    min_samples: 20"))
    line = Timeline(rule)
    few = {(): SeriesValue(500.0, 5)}
    many = {(): SeriesValue(500.0, 50)}
    line.feed([many, few, few, few])
    # `for` has passed, but only a judged breach may fire; the clock was not restarted.
    assert changes(line.transitions) == [(0, "pending", "critical")]
    assert next(iter(line.states.values())).active_since == line.at(0)
    line.feed([many])
    assert changes(line.transitions)[-1] == (4, "firing", "critical")


def test_too_few_samples_never_raise_an_alert(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    min_samples: 20"))
    line = Timeline(rule)
    line.feed([{(): SeriesValue(500.0, 5)}] * 5)
    assert line.transitions == []
    assert line.states == {}


def test_too_few_samples_hold_a_firing_alert_until_they_go_stale(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    min_samples: 20"))
    line = Timeline(rule)
    line.feed([{(): SeriesValue(500.0, 50)}])
    line.feed([{(): SeriesValue(10.0, 5)}] * 19)  # 9.5 minutes of too little to judge
    assert [t.change.value for t in line.transitions] == ["firing"]
    line.feed([{(): SeriesValue(10.0, 5)}])  # 10 minutes: stale, resolved
    assert line.transitions[-1].change.value == "resolved"
    assert line.transitions[-1].reason == "too few samples to judge since 2026-11-28T10:00:00+00:00"


def test_too_few_samples_cancel_a_pending_alert_once_stale(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 1h\n    min_samples: 20"))
    line = Timeline(rule)
    line.feed([{(): SeriesValue(500.0, 50)}])
    line.feed([{(): SeriesValue(500.0, 5)}] * 19)
    assert changes(line.transitions) == [(0, "pending", "critical")]
    line.feed([{(): SeriesValue(500.0, 5)}])
    assert changes(line.transitions)[-1] == (20, "cancelled", "critical")
    assert line.transitions[-1].reason.startswith("too few samples to judge since")


def test_a_long_gap_in_evaluation_restarts_the_for_clock(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 5m")))
    line.feed([250])
    line.now += dt.timedelta(minutes=15)  # the daemon was down
    line.feed([250])
    assert changes(line.transitions) == [(0, "pending", "critical")]
    assert next(iter(line.states.values())).active_since == line.at(1) + dt.timedelta(minutes=15)


def test_a_failed_query_changes_nothing(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([250, 250, 250])
    before = dict(line.states)
    line.feed(["error"] * 10)
    assert line.states == before
    line.feed([100])
    assert changes(line.transitions)[-1][1] == "resolved"


def test_no_data_keep_holds_then_resolves_when_stale(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s")))
    line.feed([250])
    line.feed([None] * 19)  # 9.5 minutes without data: still firing
    assert [s.status for s in line.states.values()] == [Status.FIRING]
    line.feed([None])  # 10 minutes: stale
    (_, resolved) = line.transitions
    assert resolved.change.value == "resolved"
    assert resolved.reason.startswith("no data since 2026-11-28T10:00:00")


def test_no_data_keep_holds_a_pending_alert_and_fires_on_the_next_breach(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW))
    line.feed([250, None, None, 250])
    assert changes(line.transitions) == [(0, "pending", "critical"), (3, "firing", "critical")]


def test_no_data_keep_cancels_a_pending_alert_once_stale(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 1h")))
    line.feed([250] + [None] * 20)
    assert changes(line.transitions) == [(0, "pending", "critical"), (20, "cancelled", "critical")]
    assert line.transitions[-1].reason == "no data since 2026-11-28T10:00:00+00:00"


def test_a_slow_group_keeps_its_for_clock_across_ticks(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 30m\n    window: 5m"))
    line = Timeline(rule, interval=dt.timedelta(minutes=15))
    line.feed([250, 250, 250])
    assert [(t.at - line.at(0), t.change.value) for t in line.transitions] == [
        (dt.timedelta(0), "pending"),
        (dt.timedelta(minutes=30), "firing"),
    ]


def test_a_slow_group_resolves_for_no_data_after_three_intervals(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    window: 5m"))
    line = Timeline(rule, interval=dt.timedelta(minutes=15))
    line.feed([250, None, None])
    assert [s.status for s in line.states.values()] == [Status.FIRING]
    line.feed([None])
    assert line.transitions[-1].change.value == "resolved"
    assert line.transitions[-1].at == line.at(3)


def test_no_data_ok_resolves_at_once(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    no_data: ok")))
    line.feed([250, None])
    assert changes(line.transitions) == [(0, "firing", "critical"), (1, "resolved", "critical")]


def test_no_data_alert_fires_at_the_highest_severity(tmp_path: Path) -> None:
    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 30s\n    no_data: alert")))
    line.feed([None, None, 100])
    assert changes(line.transitions) == [
        (0, "pending", "critical"),
        (1, "firing", "critical"),
        (2, "resolved", "critical"),
    ]
    assert line.transitions[0].threshold == "no data"


def test_series_are_separate_alerts_and_a_vanished_one_follows_no_data(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    by: [table]\n    no_data: ok"))
    line = Timeline(rule)
    users, ndas = (("table", "users"),), (("table", "ndas"),)
    line.feed(
        [
            {users: SeriesValue(250.0, 50), ndas: SeriesValue(100.0, 50)},
            {users: SeriesValue(250.0, 50), ndas: SeriesValue(260.0, 50)},
            {ndas: SeriesValue(260.0, 50)},
        ]
    )
    assert [(t.labels, t.change.value) for t in line.transitions] == [
        (users, "firing"),
        (ndas, "firing"),
        (users, "resolved"),
    ]


def test_static_labels_join_the_identity(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s\n    labels: {team: db}"))
    line = Timeline(rule)
    (fired,) = line.feed([250])
    assert fired.labels == (("team", "db"),)


def test_a_no_data_alert_without_group_labels_ends_when_series_return(tmp_path: Path) -> None:
    rule = make_rule(
        tmp_path, SLOW.replace("for: 1m", "for: 0s\n    by: [table]\n    no_data: alert")
    )
    line = Timeline(rule)
    users = (("table", "users"),)
    line.feed([None, {users: SeriesValue(100.0, 50)}])
    assert [(t.labels, t.change.value) for t in line.transitions] == [
        ((), "firing"),
        ((), "resolved"),
    ]


def test_alerts_of_a_removed_rule_resolve(tmp_path: Path) -> None:
    from alertd.engine.step import carry, retire

    line = Timeline(make_rule(tmp_path, SLOW.replace("for: 1m", "for: 0s")))
    line.feed([250])
    gone = retire(line.states, lambda state: "rule removed", line.now)
    assert [(t.rule, t.change.value, t.reason) for t in gone.transitions] == [
        ("R", "resolved", "rule removed")
    ]
    assert carry(line.states, gone) == {}


def test_recover_also_steadies_a_severity_flapping_around_the_critical_bound(
    tmp_path: Path,
) -> None:
    body = """\
    value: p95(duration)
    thresholds: {warning: "> 150", critical: "> 200"}
    recover: "< 130"
"""
    # recover sits 20 below the warning bound, so critical steps down only below 180.
    flapping = [205, 195, 205, 185, 205, 175, 160, 120]
    without = Timeline(make_rule(tmp_path, body.replace('    recover: "< 130"\n', "")))
    without.feed(flapping)
    steady = Timeline(make_rule(tmp_path, body))
    steady.feed(flapping)
    assert pages(without.transitions) == 7
    assert changes(steady.transitions) == [
        (0, "firing", "critical"),
        (5, "deescalated", "warning"),
        (7, "resolved", "warning"),
    ]


def test_a_held_severity_says_until_when(tmp_path: Path) -> None:
    body = """\
    value: ratio(status == "error")
    thresholds: {warning: "> 1%", critical: "> 5%"}
    recover: "< 0.5%"
"""
    rule = make_rule(tmp_path, body)
    held = judge(rule, SeriesValue(0.048, 100), firing=True, severity=Severity.CRITICAL)
    assert (held.severity, held.threshold) == (Severity.CRITICAL, "> 5 %, until below 4.5 %")
    fell = judge(rule, SeriesValue(0.04, 100), firing=True, severity=Severity.CRITICAL)
    assert (fell.severity, fell.threshold) == (Severity.WARNING, "> 1 %")
