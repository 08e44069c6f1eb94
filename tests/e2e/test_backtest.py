"""`alertd backtest` over emulator data with a known incident: exact alerts at exact ticks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.engine.backtest import backtest
from alertd.engine.printer import as_json
from alertd.query.check import check_rules
from alertd.sources.analytics_engine import AnalyticsEngineSource

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
RULES = Path(__file__).parents[2] / "rules"


def minute(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def query_points() -> list[dict[str, object]]:
    """One query per second per table for 25 minutes; `users` is slow from 5m to 10m."""
    points = []
    for second in range(25 * 60):
        at = T0 + dt.timedelta(seconds=second)
        for table in ("users", "pitches"):
            slow = table == "users" and 300 <= second < 600
            points.append(
                {
                    "timestamp": int(at.timestamp() * 1000),
                    "indexes": [table],
                    "blobs": ["SELECT", table, "success", "", "/api", "u1"],
                    "doubles": [300.0 if slow else 50.0, 1.0, at.timestamp()],
                    # pitches is busy: each point stands for 10 queries, as AE samples.
                    "sample_interval": 10 if table == "pitches" else 1,
                }
            )
    return points


def validation_error() -> dict[str, object]:
    """One unrelated error row, so the error dataset exists (AE refuses unknown datasets)."""
    return {
        "timestamp": int(T0.timestamp() * 1000),
        "indexes": ["validation"],
        "blobs": ["validation", "api", "bad input", "400", "/api/search", "u1"],
        "doubles": [T0.timestamp(), 1.0],
    }


@pytest.mark.anyio
async def test_a_slow_table_pends_fires_and_resolves_at_the_computed_ticks(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    ae.write("pitchey_database_metrics", query_points())
    ae.write("pitchey_error_tracking", [validation_error()])
    loaded = check_rules([RULES])
    assert loaded.errors == []
    database = next(g for g in loaded.ruleset.groups if g.name == "database")
    # History is replayable from AE only: the rules on other sources are left out.
    sources = loaded.ruleset.sources
    on_ae = [r for r in database.rules if set(r.datasets).isdisjoint(sources)]
    database = dataclasses.replace(database, rules=tuple(on_ae))
    ruleset = loaded.ruleset.__class__(loaded.ruleset.datasets, (database,))
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
    )
    try:
        transitions = await backtest(ruleset, source, minute(1), minute(20))
    finally:
        await source.aclose()
    slow = [as_json(t) for t in transitions if t.rule == "SlowQueryP95"]
    # Window [t-5m, t): P95 passes 200 once more than 5 % of its 300 rows are slow, i.e.
    # 16 s after 5m; the first 30 s tick after that is 5m30s. `for: 1m` fires at 6m30s.
    # The last window holding slow rows ends at 14m30s; 15m is clear (P95 = 50 < recover
    # 130) but `keep_firing_for: 1m` counts from 14m30s, so it resolves at 15m30s.
    assert [(s["at"], s["change"], s["severity"], s["labels"]) for s in slow] == [
        ("2026-11-28T09:05:30Z", "pending", "critical", {"table": "users", "team": "database"}),
        ("2026-11-28T09:06:30Z", "firing", "critical", {"table": "users", "team": "database"}),
        ("2026-11-28T09:15:30Z", "resolved", "critical", {"table": "users", "team": "database"}),
    ]
    assert slow[1]["value"] == 300.0
    # Nothing else in this data breaches: no error rows, no failed queries, no pages.
    assert {t.rule for t in transitions} == {"SlowQueryP95"}
    json.dumps(slow)  # what --json prints is plain JSON
