"""Prometheus-shaped `/api/v1/rules` and `/api/v1/alerts`."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from alertd.errors import QueryRejectedError
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio


async def test_rules_show_health_last_evaluation_and_the_sql_sent(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/v1/rules")).json()
    assert body["status"] == "success"
    (group,) = body["data"]["groups"]
    assert group["name"] == "db"
    assert group["interval"] == 30.0
    assert group["file"].endswith("db.yaml")
    assert group["lastEvaluation"] == "2026-11-28T10:05:00Z"
    (rule,) = group["rules"]
    assert rule["name"] == "SlowTable"
    assert rule["query"] == "count()"
    assert rule["type"] == "alerting"
    assert rule["health"] == "ok"
    assert rule["lastError"] == ""
    assert rule["labels"] == {"team": "db"}
    assert rule["evaluationTime"] >= 0
    (sql,) = rule["sql"]
    assert "FROM db" in sql
    assert "GROUP BY" in sql
    assert sorted(a["labels"]["table"] for a in rule["alerts"]) == ["carts", "orders", "users"]


async def test_a_refused_query_makes_the_rule_unhealthy(
    alertd: Daemon, http: httpx.AsyncClient
) -> None:
    alertd.source.errors["db"] = QueryRejectedError("AE rejected the SQL", retryable=False)
    group = alertd.evaluator.ruleset.groups[0]
    await alertd.evaluator.tick(group, AT + dt.timedelta(seconds=30))
    (rule,) = (await http.get("/api/v1/rules")).json()["data"]["groups"][0]["rules"]
    assert rule["health"] == "err"
    assert "AE rejected the SQL" in rule["lastError"]
    assert rule["lastEvaluation"] == "2026-11-28T10:05:30Z"


async def test_alerts_list_pending_and_firing(alertd: Daemon, http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/v1/alerts")).json()
    assert body["status"] == "success"
    alerts = {a["labels"]["table"]: a for a in body["data"]["alerts"]}
    assert alerts["users"] == {
        "labels": {
            "alertname": "SlowTable",
            "severity": "critical",
            "table": "users",
            "team": "db",
        },
        "annotations": {"summary": "users has 500.0 slow queries"},
        "state": "firing",
        "activeAt": "2026-11-28T10:05:00Z",
        "value": "500",
    }
    assert {a["state"] for a in alerts.values()} == {"firing"}
