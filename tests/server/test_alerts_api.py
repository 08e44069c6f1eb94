"""Alertmanager's `/api/v2/alerts`, `/alerts/groups`, `/receivers` and `/status`."""

from __future__ import annotations

import httpx
import pytest

from alertd.model import fingerprint
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio

USERS = (("table", "users"), ("team", "db"))


def by_table(alerts: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {a["labels"]["table"]: a for a in alerts}  # type: ignore[index]


async def test_alerts_show_labels_annotations_receivers_and_inhibition(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/v2/alerts")
    assert response.status_code == 200
    alerts = by_table(response.json())
    assert sorted(alerts) == ["carts", "orders", "users"]
    users = alerts["users"]
    assert users["labels"] == {
        "alertname": "SlowTable",
        "severity": "critical",
        "table": "users",
        "team": "db",
    }
    assert users["annotations"] == {"summary": "users has 500.0 slow queries"}
    assert users["receivers"] == [{"name": "pager"}]
    assert users["fingerprint"] == fingerprint("SlowTable", USERS)
    assert users["startsAt"] == "2026-11-28T10:05:00Z"
    assert users["status"] == {
        "state": "active",
        "silencedBy": [],
        "inhibitedBy": [],
        "mutedBy": [],
    }
    # A critical users alert mutes the warnings of its team.
    orders = alerts["orders"]
    assert orders["receivers"] == [{"name": "chat"}]
    assert orders["status"]["state"] == "suppressed"  # type: ignore[index]
    assert orders["status"]["inhibitedBy"] == [users["fingerprint"]]  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "tables"),
    [
        ({"filter": 'table="users"'}, ["users"]),
        ({"filter": ["team=db", 'table=~"o.*"']}, ["orders"]),
        ({"filter": '{severity="warning", table!="carts"}'}, ["orders"]),
        ({"inhibited": "false"}, ["users"]),
        ({"active": "false"}, ["carts", "orders"]),
        ({"receiver": "pag.*"}, ["users"]),
        ({"receiver": "chat", "inhibited": "false"}, []),
    ],
)
async def test_alert_filters(
    http: httpx.AsyncClient, query: dict[str, object], tables: list[str]
) -> None:
    response = await http.get("/api/v2/alerts", params=query)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert sorted(by_table(response.json())) == tables


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"filter": 'table="users'}, "bad filter"),
        ({"filter": "=x"}, "bad filter"),
        ({"receiver": "("}, "bad receiver regex"),
        ({"active": "maybe"}, "active"),
    ],
)
async def test_bad_alert_queries_are_400_with_a_message(
    http: httpx.AsyncClient, query: dict[str, str], says: str
) -> None:
    response = await http.get("/api/v2/alerts", params=query)
    assert response.status_code == 400
    assert says in response.json()["message"]


async def test_silenced_alerts_name_their_silence(
    alertd: Daemon, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await http.post(
        "/api/v2/silences",
        headers=auth,
        json={
            "matchers": [{"name": "table", "value": "users", "isRegex": False}],
            "startsAt": AT.isoformat(),
            "endsAt": "2026-11-28T12:00:00Z",
            "createdBy": "ops",
            "comment": "migration",
        },
    )
    assert created.status_code == 200
    silence_id = created.json()["silenceID"]
    alerts = by_table((await http.get("/api/v2/alerts")).json())
    assert alerts["users"]["status"]["silencedBy"] == [silence_id]  # type: ignore[index]
    assert alerts["users"]["status"]["state"] == "suppressed"  # type: ignore[index]
    unsilenced = (await http.get("/api/v2/alerts", params={"silenced": "false"})).json()
    assert sorted(by_table(unsilenced)) == ["carts", "orders"]


async def test_groups_follow_the_routes(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v2/alerts/groups")
    assert response.status_code == 200
    groups = [
        (g["receiver"]["name"], g["labels"], sorted(a["labels"]["table"] for a in g["alerts"]))
        for g in response.json()
    ]
    assert groups == [
        ("chat", {"alertname": "SlowTable"}, ["carts", "orders"]),
        ("pager", {"table": "users"}, ["users"]),
    ]
    only_pager = await http.get("/api/v2/alerts/groups", params={"receiver": "pager"})
    assert [g["receiver"]["name"] for g in only_pager.json()] == ["pager"]
    # Every alert of chat's group is inhibited: muted=false leaves the group out.
    unmuted = await http.get("/api/v2/alerts/groups", params={"muted": "false"})
    assert [g["receiver"]["name"] for g in unmuted.json()] == ["pager"]


async def test_receivers_and_status(http: httpx.AsyncClient) -> None:
    receivers = await http.get("/api/v2/receivers")
    assert receivers.json() == [{"name": "chat"}, {"name": "pager"}]
    status = (await http.get("/api/v2/status")).json()
    assert status["cluster"] == {"name": "", "status": "disabled", "peers": []}
    assert status["uptime"] == "2026-11-28T10:00:00Z"
    assert status["versionInfo"]["version"] == "0.1.0"
    assert "receiver: chat" in status["config"]["original"]
    assert "pager" in status["config"]["original"]


async def test_unknown_paths_answer_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v2/nothing")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
