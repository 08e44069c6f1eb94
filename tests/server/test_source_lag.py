"""The measured ingest lag, as the daemon shows it: `/metrics` and the status page."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from alertd.engine.freshness import DelayBounds, LagEstimator
from alertd.server.status_page import status_routes
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio


def measured(alertd: Daemon) -> None:
    """The evaluator has seen the `db` dataset's newest row 52 s old."""
    lags = LagEstimator(DelayBounds(dt.timedelta(seconds=10), dt.timedelta(seconds=180)))
    lags.observe("db", AT - dt.timedelta(seconds=52), AT)
    alertd.evaluator.freshness = lags


async def test_the_lag_is_a_metric_per_dataset(alertd: Daemon, http: httpx.AsyncClient) -> None:
    response = await http.get("/metrics")
    assert "alertd_source_lag_seconds{" not in response.text  # nothing measured yet
    measured(alertd)
    response = await http.get("/metrics")
    samples = {
        (s.name, tuple(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("alertd_source_lag_seconds", (("dataset", "db"),))] == 52.0


async def test_the_status_page_lists_each_dataset_lag(alertd: Daemon) -> None:
    evaluator = alertd.evaluator
    routes = status_routes(
        store=alertd.store,
        states=lambda: evaluator.states,
        ruleset=lambda: evaluator.ruleset,
        clock=alertd.clock,
        api_token=None,
        source_lags=lambda: evaluator.freshness.lags() if evaluator.freshness else {},
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://status") as http:
        assert 'id="sources"' not in (await http.get("/")).text
        measured(alertd)
        page = (await http.get("/")).text
    assert 'id="sources"' in page
    assert "<tr><td>db</td><td>52 s</td></tr>" in page
