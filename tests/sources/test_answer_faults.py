"""Bad answers from behind a local fault proxy are source failures, never rows or no data.

The proxy sits in front of the emulator and answers a planned query (which knows the
columns it selects) slowly, partly, wrongly or not at all.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from random import Random
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator
from alertd.errors import SourceError
from alertd.model import Query
from alertd.query.check import check_rules
from alertd.query.plan import plan
from alertd.sources.analytics_engine import AnalyticsEngineSource
from tests.commands.live_daemon import rules_folder, write_recent_queries
from tests.sources.fault_proxy import FaultProxy, fault_proxy

pytestmark = pytest.mark.anyio

# However a fault goes, a test gives up on the source after this many seconds.
GIVE_UP_SECONDS = 8.0


@pytest.fixture(scope="module")
def proxy(ae: RunningEmulator) -> Iterator[FaultProxy]:
    with fault_proxy(ae.root_url) as running:
        yield running


@pytest.fixture
def query(tmp_path: Path, ae: RunningEmulator) -> Query:
    """The daemon's own statement for `count() by table` over the last ten minutes."""
    write_recent_queries(ae)
    loaded = check_rules([rules_folder(tmp_path / "rules")])
    (planned,) = plan(loaded.ruleset.rules, loaded.ruleset.datasets, SystemClock().now()).queries
    return planned.query


def source(proxy: FaultProxy, ae: RunningEmulator, **options: Any) -> AnalyticsEngineSource:
    options.setdefault("retries", 0)
    return AnalyticsEngineSource(
        proxy.base_url,
        ae.account_id,
        SecretStr(ae.token),
        sleep=anyio.sleep,
        random=Random(0),
        initial_backoff=0.0,
        **options,
    )


async def fails(
    proxy: FaultProxy, ae: RunningEmulator, query: Query, mode: str, **options: Any
) -> tuple[SourceError, float]:
    """The error the source ends with when the proxy answers in `mode`, and how long it took."""
    proxy.mode = mode
    ae_source = source(proxy, ae, **options)
    started = time.monotonic()
    try:
        with anyio.fail_after(GIVE_UP_SECONDS), pytest.raises(SourceError) as caught:
            await ae_source.run(query)
    finally:
        proxy.mode = "pass"
        await ae_source.aclose()
    return caught.value, time.monotonic() - started


async def test_through_the_proxy_the_daemons_query_gets_its_rows(
    proxy: FaultProxy, ae: RunningEmulator, query: Query
) -> None:
    ae_source = source(proxy, ae)
    rows = await ae_source.run(query)
    await ae_source.aclose()
    assert [(row["g0"], row["m0"]) for row in rows.data] == [("users", 60)]


async def test_a_trickling_answer_fails_at_the_timeout_not_at_its_last_byte(
    proxy: FaultProxy, ae: RunningEmulator, query: Query
) -> None:
    # At 0.2 s a byte the answer would take over a minute; httpx's read timeout never fires.
    error, took = await fails(proxy, ae, query, "trickle", timeout=1.0)
    assert error.retryable is True
    assert "no whole answer within 1 s" in error.message
    assert "'pitchey_database_metrics'" in error.message
    assert took < 3.0


async def test_trickling_attempts_stop_at_the_query_deadline(
    proxy: FaultProxy, ae: RunningEmulator, query: Query
) -> None:
    # Two whole attempts of 1 s, then a third cut to the 0.5 s left of the deadline.
    error, took = await fails(proxy, ae, query, "trickle", timeout=1.0, deadline=2.5, retries=5)
    assert error.retryable is True
    assert re.search(r"within 0\.\d+ s \(what was left of its deadline\)$", error.message)
    assert "gave up after 3 attempts: its 2.5 s deadline" in error.message
    assert 2.4 < took < 4.0


async def test_a_hanging_answer_fails_at_the_timeout(
    proxy: FaultProxy, ae: RunningEmulator, query: Query
) -> None:
    error, took = await fails(proxy, ae, query, "hang", timeout=0.5)
    assert error.retryable is True
    assert "0.5 s" in error.message
    assert took < 2.5


async def test_an_answer_cut_halfway_is_a_retryable_failure(
    proxy: FaultProxy, ae: RunningEmulator, query: Query
) -> None:
    error, _ = await fails(proxy, ae, query, "cut", timeout=5.0)
    assert error.retryable is True
    assert "RemoteProtocolError" in error.message


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("columnless", "lacks columns 'g0', 'm0', 'm1' that the statement selects (it has none)"),
        ("missing_column", "lacks column 'm1' that the statement selects (it has 'g0', 'm0')"),
        ("text_in_numbers", "has measure column 'm0' typed 'String', not a number type"),
    ],
)
async def test_an_answer_without_the_statements_columns_is_a_retryable_failure(
    proxy: FaultProxy, ae: RunningEmulator, query: Query, mode: str, problem: str
) -> None:
    error, _ = await fails(proxy, ae, query, mode, retries=1)
    assert error.retryable is True
    assert error.status == 200
    assert proxy.answered[mode] == 2  # retried within the query, as any retryable failure
    assert error.message == (
        "AE query for dataset 'pitchey_database_metrics' (rules: QueriesSeen) "
        f"failed after 2 attempts: AE answer {problem}"
    )


async def test_a_correct_answer_with_no_rows_is_no_data_not_a_failure(
    proxy: FaultProxy, ae: RunningEmulator, tmp_path: Path
) -> None:
    loaded = check_rules([rules_folder(tmp_path / "empty")])
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    (planned,) = plan(loaded.ruleset.rules, loaded.ruleset.datasets, long_ago).queries
    ae_source = source(proxy, ae)
    rows = await ae_source.run(planned.query)
    await ae_source.aclose()
    assert rows.data == ()
    assert [column.name for column in rows.columns] == ["g0", "m0", "m1"]
