"""`/metrics`: Prometheus text, values read from the daemon's counters at scrape time."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alertd.model import Notification, OutboxEntry
from alertd.store.base import Commit
from tests.engine.timeline import T0
from tests.server import harness
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_alerts_evaluation_and_build(alertd: Daemon, http: httpx.AsyncClient) -> None:
    metrics = await scrape(http)
    firing = {
        severity: metrics[("alertd_alerts", (("severity", severity), ("state", "firing")))]
        for severity in ("critical", "warning")
    }
    assert firing == {"critical": 1.0, "warning": 2.0}
    assert metrics[("alertd_alerts", (("severity", "warning"), ("state", "pending")))] == 0.0
    group = (("group", "db"),)
    assert metrics[("alertd_rule_group_last_evaluation_timestamp_seconds", group)] == AT.timestamp()
    assert metrics[("alertd_rule_group_last_evaluation_duration_seconds", group)] >= 0.0
    assert metrics[("alertd_rule_group_ticks_missed_total", ())] == 0.0
    assert metrics[("alertd_rules", ())] == 1.0
    assert metrics[("alertd_state_store_writable", ())] == 1.0
    assert metrics[("alertd_start_time_seconds", ())] == T0.timestamp()
    assert metrics[("alertd_config_last_reload_successful", ())] == 1.0
    assert metrics[("alertd_config_last_reload_success_timestamp_seconds", ())] == T0.timestamp()
    (build,) = [key for key in metrics if key[0] == "alertd_build_info"]
    assert dict(build[1])["version"] == "0.1.0"


async def test_sources_and_notifications(alertd: Daemon, http: httpx.AsyncClient) -> None:
    stats = alertd.parts.source_stats
    assert stats is not None
    stats.attempted("db", 120)
    stats.attempted("db", 80)
    stats.of("db").queries = 1
    stats.of("db").retried = 1
    stats.of("db").rows_read = 3
    deliverer = alertd.parts.deliverer
    assert deliverer is not None
    deliverer.counters["pager"].delivered = 4
    deliverer.counters["chat"].expired = 2
    created = AT - dt.timedelta(minutes=3)
    entry = OutboxEntry(
        Notification("n1", "pager", "k", (), True, (), created),
        expires_at=AT + dt.timedelta(hours=6),
        next_attempt_at=AT,
    )
    await alertd.store.commit(Commit(at=AT, group="notify", outbox=(entry,)))
    metrics = await scrape(http)
    db = (("dataset", "db"),)
    assert metrics[("alertd_source_queries_total", db)] == 1.0
    assert metrics[("alertd_source_queries_retried_total", db)] == 1.0
    assert metrics[("alertd_source_queries_failed_total", db)] == 0.0
    assert metrics[("alertd_source_requests_total", db)] == 2.0
    assert metrics[("alertd_source_sql_bytes_total", db)] == 200.0
    assert metrics[("alertd_source_rows_read_total", db)] == 3.0
    assert metrics[("alertd_source_requests_this_month", db)] == 2.0
    assert metrics[("alertd_source_failed_ticks", db)] == 0.0
    assert metrics[("alertd_notifications_delivered_total", (("receiver", "pager"),))] == 4.0
    assert metrics[("alertd_notifications_expired_total", (("receiver", "chat"),))] == 2.0
    assert metrics[("alertd_outbox_pending", (("receiver", "pager"),))] == 1.0
    assert metrics[("alertd_outbox_pending", (("receiver", "chat"),))] == 0.0
    assert metrics[("alertd_outbox_oldest_age_seconds", (("receiver", "pager"),))] == 180.0
    # Next month, nothing is billed yet.
    await alertd.clock.sleep(31 * 86400)
    later = await scrape(http)
    assert later[("alertd_source_requests_this_month", db)] == 0.0
    assert later[("alertd_source_requests_total", db)] == 2.0


async def test_reload_is_counted(alertd: Daemon, auth: dict[str, str]) -> None:
    outcomes = [True, False]

    async def reload() -> bool:
        return outcomes.pop(0)

    parts = alertd.parts
    parts.reload = parts.reload_status.tracked(reload, alertd.clock.now)

    async for http in harness.client(parts):
        await alertd.clock.sleep(60)
        ok = await http.post("/-/reload", headers=auth)
        assert ok.status_code == 200
        assert ok.json() == {"message": "reloaded"}
        metrics = await scrape(http)
        assert metrics[("alertd_config_last_reload_successful", ())] == 1.0
        reloaded_at = (AT + dt.timedelta(seconds=60)).timestamp()
        assert metrics[("alertd_config_last_reload_success_timestamp_seconds", ())] == reloaded_at
        await alertd.clock.sleep(60)
        refused = await http.post("/-/reload", headers=auth)
        assert refused.status_code == 422
        assert "old rules are kept" in refused.json()["message"]
        metrics = await scrape(http)
        assert metrics[("alertd_config_last_reload_successful", ())] == 0.0
        assert metrics[("alertd_config_last_reload_success_timestamp_seconds", ())] == reloaded_at
        assert (await http.post("/-/reload")).status_code == 401


async def test_a_reload_that_raises_is_a_failed_reload(
    alertd: Daemon, auth: dict[str, str]
) -> None:
    async def broken() -> bool:
        raise RuntimeError("bug")

    parts = alertd.parts
    parts.reload = parts.reload_status.tracked(broken, alertd.clock.now)
    async for http in harness.client(parts):
        refused = await http.post("/-/reload", headers=auth)
        assert refused.status_code == 422
        metrics = await scrape(http)
        assert metrics[("alertd_config_last_reload_successful", ())] == 0.0
