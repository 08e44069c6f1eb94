"""`alertd alerts` says how late each dataset's rows land, as the daemon last measured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import anyio
import pytest

from alertd.cli import main
from alertd.engine.freshness import DelayBounds, LagEstimator
from alertd.engine.source_health import lag_step
from alertd.engine.step import Step
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

RULES = Path(__file__).parents[2] / "rules"
AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
DATASET = "pitchey_database_metrics"


def test_the_last_measured_lag_follows_the_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTD_RULES_DIR", str(RULES))
    lags = LagEstimator(DelayBounds(dt.timedelta(seconds=10), dt.timedelta(seconds=180)))
    lags.observe(DATASET, AT - dt.timedelta(seconds=75), AT)
    step = Step()
    lag_step(lags, [DATASET], {}, dt.timedelta(minutes=5), AT, step)
    assert step.transitions == []  # 75 s is within the 180 s the delay may reach

    async def write() -> None:
        store = await SqliteStore.open(tmp_path / "alertd.db")
        try:
            await store.commit(Commit(at=AT, group="g", points=tuple(step.points)))
        finally:
            await store.aclose()

    anyio.run(write)
    capsys.readouterr()
    assert main(["alerts"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "no alerts",
        f"source lag: {DATASET} 75 s (measured at 2026-11-28 10:00:00Z)",
    ]


def test_a_lag_past_the_maximum_raises_its_own_alert() -> None:
    lags = LagEstimator(DelayBounds(dt.timedelta(seconds=10), dt.timedelta(seconds=60)))
    lags.observe(DATASET, AT - dt.timedelta(seconds=90), AT)
    step = Step()
    lag_step(lags, [DATASET], {}, dt.timedelta(0), AT, step)
    (transition,) = step.transitions
    assert transition.rule == "AlertdSourceLagging"
    assert transition.labels == (("dataset", DATASET),)
    assert transition.status.value == "firing"
    assert transition.threshold is not None
    assert "rows land 90 s late, past the 60 s evaluation delay" in transition.threshold
