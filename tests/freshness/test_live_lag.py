"""The daemon on the fake clock against the emulator holding rows back by an ingest delay:
with `auto` it waits as long as the data needs, so an incident pages promptly and no rule
fires or resolves on a window whose rows have not all landed. A fixed short delay, in the
same run, does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alertd.model import Change
from tests.freshness.live import FOR, INCIDENT, INTERVAL, LAG, changes, play

pytestmark = pytest.mark.anyio


async def test_auto_delay_pages_promptly_and_judges_only_complete_windows(tmp_path: Path) -> None:
    run = await play(tmp_path, "auto")
    worst = dt.timedelta(seconds=LAG.seconds + LAG.jitter)
    # One page for the incident, soon after it starts; no page for missing traffic.
    firing = [(at, names) for at, status, names in run.pages if status == "firing"]
    assert [names for _, names in firing] == [["Errors"]], run.pages
    # The lag a complete window needs, as measured from the fill of the newest seconds:
    # close to the slowest row's lag.
    complete = run.pipeline.freshness.complete("api")
    assert complete is not None
    assert worst - dt.timedelta(seconds=5) <= complete <= worst + dt.timedelta(seconds=10)
    paged = firing[0][0] - INCIDENT[0]
    assert paged <= complete + INTERVAL + FOR + dt.timedelta(seconds=2), (paged, complete)
    # The error count fired once and resolved once, a window after the incident's end.
    (fired, resolved) = [
        c for c in changes(run, "Errors") if c[1] in (Change.FIRING, Change.RESOLVED)
    ]
    assert fired[0] >= INCIDENT[0]
    assert resolved[1] is Change.RESOLVED
    assert resolved[0] >= INCIDENT[1] + dt.timedelta(minutes=1)
    assert changes(run, "TrafficDrop") == []
    # The lag was measured from the data, and the delay followed it.
    lag = run.pipeline.freshness.lag("api")
    assert lag is not None
    assert dt.timedelta(seconds=LAG.seconds) <= lag <= worst
    assert all(t.rule != "AlertdSourceLagging" for t in run.transitions)


async def test_a_fixed_delay_shorter_than_the_lag_judges_incomplete_windows(
    tmp_path: Path,
) -> None:
    run = await play(tmp_path, "10")
    assert [c for _, c in changes(run, "TrafficDrop")][:1] == [Change.FIRING]
    assert any(names == ["TrafficDrop"] for _, status, names in run.pages if status == "firing")
