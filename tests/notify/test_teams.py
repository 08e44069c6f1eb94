"""Teams: an Adaptive Card the 1.5 schema accepts, trimmed below the size Workflows takes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from alertd.model import Severity
from alertd.notify.receivers import Delivered, TeamsReceiver
from alertd.notify.receivers.teams import MAX_BYTES
from tests.notify import fakes
from tests.notify.fakes import FakeServices, Received, alert, notification, resolved

pytestmark = pytest.mark.anyio

URL = (
    "https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
    "?sig=teamsSIGsecret0123456789"
)


def teams(max_bytes: int = MAX_BYTES) -> TeamsReceiver:
    return TeamsReceiver("ops", SecretStr(URL), client=httpx.AsyncClient(), max_bytes=max_bytes)


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = body["attachments"][0]["content"]
    return content


def alert_containers(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in card["body"] if e["type"] == "Container" and e.get("separator")]


def texts(node: Any, kind: str) -> list[str]:
    """Every `text` of elements of type `kind`, anywhere in the card."""
    if isinstance(node, list):
        return [t for item in node for t in texts(item, kind)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == kind else []
    return found + [t for value in node.values() for t in texts(value, kind)]


def test_a_small_group_lists_every_alert_with_its_texts() -> None:
    n = notification(*(alert(labels=(("table", f"t{i}"),)) for i in range(3)))

    card = card_of(teams().render(n).json())

    assert len(alert_containers(card)) == 3
    runs = texts(card, "TextRun")
    assert "SlowQueryP95 · critical · 212.35 (threshold > 200)" in runs
    assert "P95 query time on users is 212 ms" in runs
    assert not any("more alerts" in t for t in texts(card, "TextBlock"))


def test_a_huge_group_is_trimmed_below_the_budget_and_says_how_many_more() -> None:
    n = notification(
        *(
            alert(labels=(("table", f"t{i}"),), annotations={"summary": "s" * 3000})
            for i in range(300)
        )
    )

    payload = teams().render(n)

    card = card_of(payload.json())
    shown = len(alert_containers(card))
    assert len(payload.body) <= MAX_BYTES
    assert 0 < shown < 300
    assert texts(card, "TextBlock") == [f"…and {300 - shown} more alerts"]
    assert fakes.teams_problems(fakes.received(payload)) == []


def test_a_tight_budget_shortens_texts_as_well() -> None:
    n = notification(alert(annotations={"summary": "s" * 20_000}))

    payload = teams(max_bytes=2000).render(n)

    summary = [t for t in texts(card_of(payload.json()), "TextRun") if t.startswith("ss")]
    assert len(payload.body) <= 2000
    assert summary == ["s" * 499 + "…"]


def test_data_goes_only_into_text_runs_which_teams_never_reads_as_markdown() -> None:
    n = notification(
        alert(annotations={"summary": "[click](https://evil.example)", "description": "**x**"})
    )

    card = card_of(teams().render(n).json())

    assert all("evil" not in t for t in texts(card, "TextBlock"))
    assert "[click](https://evil.example)" in texts(card, "TextRun")


@pytest.mark.parametrize(
    ("severity", "firing", "style"),
    [
        (Severity.CRITICAL, True, "attention"),
        (Severity.WARNING, True, "warning"),
        (None, False, "good"),
    ],
)
def test_the_heading_colour_follows_severity_and_status(
    severity: Severity | None, firing: bool, style: str
) -> None:
    n = notification(alert(severity=severity, firing=firing), firing=firing)

    assert card_of(teams().render(n).json())["body"][0]["style"] == style


def test_the_card_says_version_1_5_full_width_and_links_the_alert_page() -> None:
    card = card_of(teams().render(notification()).json())

    assert card["version"] == "1.5"
    assert card["msteams"] == {"width": "Full"}
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Alert page",
            "url": "https://alertd.example/alerts/5f2c1d9e8a7b6c4d",
        }
    ]


async def test_delivery_over_a_socket_is_accepted_with_202(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    url = f"{fake.base_url}/teams/workflows/abc/triggers/manual/paths/invoke?sig=x"
    receiver = TeamsReceiver("ops", SecretStr(url), client=client)

    delivered = await receiver.send(receiver.render(resolved(notification())))

    assert delivered == Delivered(None)
    assert card_of(fake.teams.requests[0].json())["body"][0]["style"] == "good"


def test_the_oracle_rejects_what_teams_would() -> None:
    good = teams().render(notification()).json()
    misspelt = {**card_of(good), "body": [{"type": "TextBlock", "text": "x", "colour": "red"}]}
    too_new = {**card_of(good), "body": [{"type": "Table", "columns": [], "rows": []}]}

    def problems(content: dict[str, Any], padding: int = 0) -> list[str]:
        body = {**good, "attachments": [{**good["attachments"][0], "content": content}]}
        raw = json.dumps(body).encode() + b" " * padding
        return fakes.teams_problems(Received("/teams/x", {}, raw))

    assert problems(card_of(good)) == []
    assert problems(misspelt)
    assert problems(too_new)
    assert problems(card_of(good), padding=28 * 1024)
