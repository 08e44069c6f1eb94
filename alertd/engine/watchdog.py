"""`AlertdWatchdog`: an alert that always fires, so that its absence says alertd is down.

With ALERTD_WATCHDOG on, it fires from the start and never resolves; the route it takes
re-sends it every `repeat_interval` like any alert still firing. A heartbeat service
(healthchecks.io, Dead Man's Snitch, PagerDuty's heartbeats) pages when those stop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from alertd.engine.lifecycle import Policy, advance
from alertd.engine.step import Step
from alertd.engine.verdict import Condition, Verdict
from alertd.model import WATCHDOG_ALERT, AlertState, Severity, Status, fingerprint

WATCHDOG_KEY = fingerprint(WATCHDOG_ALERT, ())
_POLICY = Policy(
    for_=dt.timedelta(0),
    keep_firing_for=dt.timedelta(0),
    no_data="keep",
    stale_after=dt.timedelta(days=3650),
)


def watchdog_step(states: Mapping[str, AlertState], now: dt.datetime, out: Step) -> None:
    """Fire the watchdog unless it already fires (then nothing changes)."""
    before = states.get(WATCHDOG_KEY)
    if before is not None and before.status is Status.FIRING:
        return
    state = before or AlertState(WATCHDOG_KEY, WATCHDOG_ALERT, (), Status.INACTIVE)
    verdict = Verdict(Condition.BREACH, Severity.WARNING, threshold="always firing")
    after, transition = advance(state, verdict, _POLICY, now)
    out.record(before, after, transition)
