"""A daily report built from known emulator data and alert history, checked by hand.

Each AE row stands for its `sample_interval` events; quantiles take the value at rank
ceil(0.95 × events) in weighted order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.reports.build import build_report
from alertd.reports.figures import Compared, Kind, Ranked, as_json
from alertd.reports.terminal_text import render_text
from alertd.rules.loader import load
from alertd.sources.analytics_engine import AnalyticsEngineSource
from tests.reports.known_day import AT, known_alerts, write_known_day

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def known_day(ae: RunningEmulator) -> Iterator[None]:
    write_known_day(ae)
    yield
    ae.reset()


async def daily(ae: RunningEmulator):  # type: ignore[no-untyped-def]
    loaded = load([Path(__file__).parents[2] / "rules"])
    clock = FakeClock(AT)
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=clock.sleep, retries=1
    )
    try:
        return await build_report(
            source, loaded.ruleset.datasets, await known_alerts(), Kind.DAILY, AT
        )
    finally:
        await source.aclose()


async def test_daily_report_figures_match_hand_computed_values(
    ae: RunningEmulator, known_day: None
) -> None:
    report = await daily(ae)
    db = report.database
    # Durations 50×1, 150×2, 300×1, 20×4: 8 queries; before: 1000×1, 40×1 (one failed).
    assert db.queries == Compared(8, 2)
    assert db.p95_ms == Compared(300, 1000)  # the 8th of 8; the 2nd of 2
    assert db.error_rate.current == pytest.approx(1 / 8)
    assert db.error_rate.previous == pytest.approx(1 / 2)
    assert db.error_rate.change == pytest.approx(-0.75)
    assert db.slowest_tables == (Ranked("pitches", 300, 5), Ranked("users", 150, 3))

    api = report.api
    # 40×10, 80×20, 120×5, 900×5: the 38th of 40 is 900; before 60×9, 300×1: the 10th.
    assert api.requests == Compared(40, 10)
    assert api.p95_ms == Compared(900, 300)
    assert api.p95_ms.change == pytest.approx(2.0)
    assert api.error_rate.current == pytest.approx(5 / 40)
    assert api.error_rate.change is None  # no 5xx before: no relative change
    assert api.cache_hit_rate.current == pytest.approx(10 / 15)
    assert api.cache_hit_rate.previous == pytest.approx(9 / 10)
    assert api.slowest_endpoints == (
        Ranked("/api/pitches", 900, 20),
        Ranked("/api/users", 80, 20),
    )

    # errorCount 1×2 + 1×1 api_error, 3×1 db_error.
    assert report.errors.errors.current == 6
    assert report.errors.top_categories == (Ranked("api_error", 0.5, 3), Ranked("db_error", 0.5, 3))

    alerts = report.alerts
    assert (alerts.fired, alerts.resolved) == (3, 3)
    assert alerts.mean_resolve_s == pytest.approx((7200 + 1800 + 7200) / 3)
    slow, api_errors = alerts.by_rule
    assert (slow.rule, slow.fired, slow.resolved) == ("SlowQueryP95", 2, 2)
    assert (slow.mean_resolve_s, slow.longest_resolve_s) == (4500, 7200)
    assert (api_errors.rule, api_errors.fired, api_errors.mean_resolve_s) == (
        "ApiErrorRate",
        1,
        7200,
    )

    # One statement per dataset, grouping (none, or by table/endpoint/type) and period.
    assert report.ae_queries.report == 12


async def test_daily_report_reads_as_text_and_json(ae: RunningEmulator, known_day: None) -> None:
    report = await daily(ae)
    text = render_text(report)
    assert text.startswith("Daily performance report, 2026-11-27 08:00 to 2026-11-28 08:00 UTC\n")
    assert "  P95 query time: 300 ms (-70 % on the previous period)\n" in text
    assert "  Slow endpoint /api/pitches: P95 900 ms over 20 requests\n" in text
    assert "  Cache hit rate: 66.7 % (90.0 % in the previous period)\n" in text
    assert "  SlowQueryP95: fired 2, resolved 2, mean 75 min, longest 2.0 h\n" in text
    body = as_json(report)
    assert body["kind"] == "daily"
    assert body["start"] == "2026-11-27T08:00:00Z"
    assert body["database"]["queries"] == {"current": 8, "previous": 2, "change": 3.0}
    assert body["errors"]["top_categories"][0] == {"name": "api_error", "value": 0.5, "events": 3}
