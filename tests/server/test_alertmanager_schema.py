"""What Alertmanager's clients read (amtool, Grafana's Alertmanager data source) is checked
against Alertmanager's own API document (tests/oracles/alertmanager-api-v2.openapi.yaml):
every answer of the endpoints alertd serves from it validates against that endpoint's
response schema, with firing, inhibited and silenced alerts present."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from tests.server.harness import AT

pytestmark = pytest.mark.anyio

DOCUMENT = Path(__file__).resolve().parents[1] / "oracles/alertmanager-api-v2.openapi.yaml"


def response_schema(path: str) -> dict[str, Any]:
    """The 200 answer's schema of `GET path`, with the document's definitions beside it."""
    document = yaml.safe_load(DOCUMENT.read_text())
    schema = document["paths"][path]["get"]["responses"]["200"]["schema"]
    return {**schema, "definitions": document["definitions"]}


def validate(answer: object, path: str) -> None:
    schema = response_schema(path)
    checker = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(checker.iter_errors(answer), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


async def test_every_alertmanager_endpoint_answers_in_alertmanagers_schema(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await http.post(
        "/api/v2/silences",
        json={
            "matchers": [{"name": "table", "value": "carts", "isRegex": False}],
            "startsAt": AT.isoformat(),
            "endsAt": (AT + dt.timedelta(hours=2)).isoformat(),
            "createdBy": "ops",
            "comment": "migration",
        },
        headers=auth,
    )
    assert created.status_code == 200
    silence_id = created.json()["silenceID"]
    answers = {
        "/status": await http.get("/api/v2/status"),
        "/receivers": await http.get("/api/v2/receivers"),
        "/alerts": await http.get("/api/v2/alerts"),
        "/alerts/groups": await http.get("/api/v2/alerts/groups"),
        "/silences": await http.get("/api/v2/silences"),
        "/silence/{silenceID}": await http.get(f"/api/v2/silence/{silence_id}"),
    }
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
        validate(answer.json(), path)
    # The answers hold what makes the check worth something: every alert state.
    states = {alert["status"]["state"] for alert in answers["/alerts"].json()}
    assert states == {"active", "suppressed"}
    silenced = [a for a in answers["/alerts"].json() if a["status"]["silencedBy"]]
    assert [a["labels"]["table"] for a in silenced] == ["carts"]
    assert answers["/alerts/groups"].json(), "no groups to check"
