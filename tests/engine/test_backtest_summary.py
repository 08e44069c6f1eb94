"""The per-rule summary of a backtest: firings, time firing, longest firing, pages."""

from __future__ import annotations

import datetime as dt

from alertd.engine.backtest_summary import summarize
from alertd.model import AlertSnapshot, Change, Notification, Status, Transition

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def transition(rule: str, fingerprint: str, change: Change, minutes: float) -> Transition:
    status = Status.INACTIVE if change is Change.RESOLVED else Status.FIRING
    return Transition(
        at(minutes), fingerprint, rule, (), change, Status.PENDING, status, None, None, None
    )


def page(receiver: str, rules: list[str], *, firing: bool = True) -> Notification:
    alerts = tuple(AlertSnapshot(f"fp-{r}", r, (), firing, None, None, None, {}, T0) for r in rules)
    return Notification("id", receiver, "group", (), firing, alerts, T0)


def test_firing_spans_add_up_and_one_still_firing_counts_up_to_the_end() -> None:
    found = summarize(
        ["A", "B", "C"],
        [
            transition("A", "a1", Change.FIRING, 1),
            transition("A", "a2", Change.FIRING, 2),
            transition("A", "a1", Change.ESCALATED, 3),
            transition("A", "a1", Change.RESOLVED, 6),  # 5 minutes
            transition("A", "a2", Change.RESOLVED, 4),  # 2 minutes
            transition("A", "a2", Change.FIRING, 10),  # until the end: 20 minutes
            transition("B", "b1", Change.PENDING, 1),
            transition("AlertdSourceUnavailable", "s", Change.FIRING, 1),
        ],
        at(30),
        [page("console", ["A", "B"]), page("pagerduty", ["A"]), page("console", ["A"])],
    )
    a, b, c = found
    assert (a.rule, a.fired, a.firing, a.longest) == (
        "A", 3, dt.timedelta(minutes=27), dt.timedelta(minutes=20)
    )  # fmt: skip
    assert a.pages == {"console": 2, "pagerduty": 1}
    assert (b.fired, b.firing, b.pages) == (0, dt.timedelta(0), {"console": 1})
    assert a.as_line(with_pages=True) == (
        "A: fired 3 times, firing 27m in all, longest 20m; pages: console 2, pagerduty 1"
    )
    assert c.as_line(with_pages=True) == "C: never fired; pages: none"
    assert a.as_json() == {
        "rule": "A",
        "fired": 3,
        "firing_seconds": 1620.0,
        "longest_firing_seconds": 1200.0,
        "pages": {"console": 2, "pagerduty": 1},
    }


def test_a_resolve_notification_is_not_a_page() -> None:
    (a,) = summarize(["A"], [], at(30), [page("console", ["A"], firing=False)])
    assert a.pages == {}
    assert a.as_line(with_pages=False) == "A: never fired"
