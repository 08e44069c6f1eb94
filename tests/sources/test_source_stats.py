"""What the source counts per dataset for the metrics: queries, attempts, retries,
failures, SQL bytes, rows, and requests billed per calendar month."""

from __future__ import annotations

import datetime as dt
from random import Random

import pytest

from alertd.clock import FakeClock
from alertd.errors import SourceError
from alertd.sources.stats import SourceStats
from tests.sources.test_analytics_engine import QUERY, Script, ok, source_for, text

pytestmark = pytest.mark.anyio


async def test_queries_attempts_retries_failures_bytes_and_rows_are_counted() -> None:
    clock = FakeClock(dt.datetime(2026, 10, 31, 23, 59, 0, tzinfo=dt.UTC))
    stats = SourceStats(clock.now)
    script = Script(text(503, "busy"), ok(), ok(), *[text(503, "down")] * 4)
    source = source_for(script, clock, stats=stats, retries=3, random=Random(1))
    await source.run(QUERY)  # 503 then ok: one query, two requests, retried
    await source.run(QUERY)
    await clock.sleep(120)  # into November
    with pytest.raises(SourceError):
        await source.run(QUERY)  # four 503s: failed after retrying
    web = stats.datasets["web"]
    sql = len(QUERY.sql.encode())
    assert (web.queries, web.attempts, web.retried, web.failed) == (3, 7, 2, 1)
    assert web.sql_bytes == 7 * sql
    assert web.rows_read == 2
    assert stats.billed_this_month("web", dt.datetime(2026, 10, 15, tzinfo=dt.UTC)) == 3
    assert stats.billed_this_month("web", clock.now()) == 4
