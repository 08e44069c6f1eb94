"""Alertmanager's silence API: create, read, filter, replace, expire; the token guards it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from tests.server import harness
from tests.server.harness import AT, Daemon

pytestmark = pytest.mark.anyio


def silence(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "matchers": [
            {"name": "table", "value": "users", "isRegex": False},
            {"name": "team", "value": "d.*", "isRegex": True, "isEqual": False},
        ],
        "startsAt": AT.isoformat(),
        "endsAt": (AT + dt.timedelta(hours=2)).isoformat(),
        "createdBy": "ops",
        "comment": "migration",
    }
    return {**body, **overrides}


async def test_a_silence_is_stored_and_read_back(
    alertd: Daemon, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await http.post("/api/v2/silences", json=silence(), headers=auth)
    assert created.status_code == 200
    silence_id = created.json()["silenceID"]
    (stored,) = await alertd.store.silences()
    assert stored.id == silence_id
    assert stored.matchers == ('table="users"', 'team!~"d.*"')
    got = (await http.get(f"/api/v2/silence/{silence_id}")).json()
    assert got == {
        "id": silence_id,
        "status": {"state": "active"},
        "updatedAt": "2026-11-28T10:05:00Z",
        "matchers": [
            {"name": "table", "value": "users", "isRegex": False, "isEqual": True},
            {"name": "team", "value": "d.*", "isRegex": True, "isEqual": False},
        ],
        "startsAt": "2026-11-28T10:05:00Z",
        "endsAt": "2026-11-28T12:05:00Z",
        "createdBy": "ops",
        "comment": "migration",
        "annotations": {},
    }
    listed = (await http.get("/api/v2/silences")).json()
    assert [s["id"] for s in listed] == [silence_id]


async def test_silences_filter_by_their_matchers_and_state(
    alertd: Daemon, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    users = (await http.post("/api/v2/silences", json=silence(), headers=auth)).json()
    later = silence(
        matchers=[{"name": "table", "value": "orders", "isRegex": False}],
        startsAt=(AT + dt.timedelta(hours=1)).isoformat(),
    )
    orders = (await http.post("/api/v2/silences", json=later, headers=auth)).json()

    async def ids(**params: str) -> list[str]:
        return [s["id"] for s in (await http.get("/api/v2/silences", params=params)).json()]

    assert await ids() == [users["silenceID"], orders["silenceID"]]  # active before pending
    assert await ids(filter='table="orders"') == [orders["silenceID"]]
    assert await ids(pending="false") == [users["silenceID"]]
    assert await ids(filter='table=~"x.*"') == []
    bad = await http.get("/api/v2/silences", params={"filter": 'table=~"("'})
    assert bad.status_code == 400


async def test_delete_expires_and_post_with_an_id_replaces(
    alertd: Daemon, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    first = (await http.post("/api/v2/silences", json=silence(), headers=auth)).json()
    replaced = await http.post(
        "/api/v2/silences", json=silence(id=first["silenceID"], comment="longer"), headers=auth
    )
    assert replaced.status_code == 200
    second = replaced.json()["silenceID"]
    assert second != first["silenceID"]
    old = (await http.get(f"/api/v2/silence/{first['silenceID']}")).json()
    assert old["status"] == {"state": "expired"}
    assert old["endsAt"] == "2026-11-28T10:05:00Z"
    deleted = await http.delete(f"/api/v2/silence/{second}", headers=auth)
    assert deleted.status_code == 200
    now = (await http.get(f"/api/v2/silence/{second}")).json()
    assert now["status"] == {"state": "expired"}
    assert await alertd.store.silences(active_at=AT) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (silence(endsAt=(AT - dt.timedelta(hours=1)).isoformat()), "end must come after"),
        (silence(comment=" "), "comment is empty"),
        (silence(matchers=[]), "matchers"),
        (silence(matchers=[{"name": "x", "value": "", "isRegex": False}]), "every alert"),
        (silence(matchers=[{"name": "1x", "value": "a", "isRegex": False}]), "label name"),
        (silence(matchers=[{"name": "x", "value": "(", "isRegex": True}]), "invalid regex"),
        (silence(startsAt="2026-11-28T10:05:00"), "time zone"),
        (silence(startsAt="yesterday"), "startsAt"),
        ({"matchers": "x"}, "matchers"),
    ],
)
async def test_bad_silences_are_400_naming_the_problem(
    http: httpx.AsyncClient, auth: dict[str, str], body: dict[str, object], says: str
) -> None:
    response = await http.post("/api/v2/silences", json=body, headers=auth)
    assert response.status_code == 400
    assert says in response.json()["message"]


async def test_unknown_silences_are_404(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for response in (
        await http.get("/api/v2/silence/nope"),
        await http.delete("/api/v2/silence/nope", headers=auth),
        await http.post("/api/v2/silences", json=silence(id="nope"), headers=auth),
    ):
        assert response.status_code == 404
        assert "nope" in response.json()["message"]


async def test_changes_need_the_token(alertd: Daemon, http: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = await http.post("/api/v2/silences", json=silence(), headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"message": "a valid bearer token is needed"}
    assert await alertd.store.silences() == []
    # Reading needs none.
    assert (await http.get("/api/v2/silences")).status_code == 200


async def test_without_a_token_changes_are_off(tmp_path: Path) -> None:
    alertd = await harness.daemon(tmp_path, token=None)
    async for http in harness.client(alertd.parts):
        for response in (
            await http.post("/api/v2/silences", json=silence()),
            await http.delete("/api/v2/silence/x", headers={"Authorization": "Bearer x"}),
            await http.post("/-/reload"),
        ):
            assert response.status_code == 403
            assert "ALERTD_API_TOKEN" in response.json()["message"]
