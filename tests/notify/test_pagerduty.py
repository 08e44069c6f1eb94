"""PagerDuty: one incident per group, keyed stably, triggered and resolved on that key."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from pydantic import SecretStr

from alertd.model import Severity
from alertd.notify.receivers import PagerDutyReceiver
from alertd.notify.receivers.pagerduty import MAX_EVENT_BYTES, dedup_key
from tests.notify import fakes
from tests.notify.fakes import FakeServices, Received, alert, notification, resolved

pytestmark = pytest.mark.anyio

ROUTING_KEY = "pdROUTINGkeySECRET00000000000001"


def pagerduty(**options: str) -> PagerDutyReceiver:
    return PagerDutyReceiver("ops", SecretStr(ROUTING_KEY), client=httpx.AsyncClient(), **options)


def test_a_simple_trigger_is_exactly_this_event() -> None:
    event = pagerduty().render(notification()).json()

    assert event == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "alertd-9c90bcc8a49f4b3ce880af0f300a38691d4fc0076cfda85ffaeda472f90c2f74",
        "client": "alertd",
        "client_url": "https://alertd.example/alerts/5f2c1d9e8a7b6c4d",
        "links": [{"href": "https://alertd.example/alerts/5f2c1d9e8a7b6c4d", "text": "Alert page"}],
        "payload": {
            "summary": (
                "[FIRING:1] SlowQueryP95 (table=users): 212.35 (threshold > 200)"
                " · P95 query time on users is 212 ms"
            ),
            "severity": "critical",
            "timestamp": "2025-03-01T12:00:00Z",
            "source": "alertd",
            "component": "table=users",
            "class": "SlowQueryP95",
            "custom_details": {
                "firing": 1,
                "resolved": 0,
                "group_labels": {"table": "users"},
                "alerts": [
                    {
                        "rule": "SlowQueryP95",
                        "status": "firing",
                        "severity": "critical",
                        "note": None,
                        "value": 212.3456,
                        "value_text": "212.35",
                        "unit": None,
                        "threshold": "> 200",
                        "labels": {"table": "users", "env": "prod"},
                        "annotations": {
                            "summary": "P95 query time on users is 212 ms",
                            "description": "See the runbook.",
                        },
                        "starts_at": "2025-03-01T11:55:00Z",
                        "ends_at": None,
                    }
                ],
            },
        },
    }


def test_the_dedup_key_is_stable_and_resolve_uses_the_same_one() -> None:
    n = notification()

    first, second = pagerduty().render(n).json(), pagerduty().render(n).json()
    resolve = pagerduty().render(resolved(n)).json()

    assert first["dedup_key"] == second["dedup_key"] == resolve["dedup_key"]
    assert first["dedup_key"] == dedup_key(n.group_key)
    assert dedup_key("another group") != first["dedup_key"]


def test_any_group_key_gives_a_dedup_key_pagerduty_accepts() -> None:
    assert len(dedup_key("g" * 10_000)) <= 255
    assert dedup_key("") != dedup_key(" ")


def test_resolve_carries_only_what_pagerduty_needs() -> None:
    event = pagerduty().render(resolved(notification())).json()

    assert event == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": dedup_key(notification().group_key),
    }


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ((Severity.CRITICAL,), "critical"),
        ((Severity.WARNING,), "warning"),
        ((None,), "info"),
        ((Severity.WARNING, Severity.CRITICAL, None), "critical"),
    ],
)
def test_severity_is_the_worst_firing_one(
    severities: tuple[Severity | None, ...], expected: str
) -> None:
    n = notification(
        *(alert(severity=s, fingerprint=f"{i:016x}") for i, s in enumerate(severities))
    )

    assert pagerduty().render(n).json()["payload"]["severity"] == expected


def test_a_resolved_alert_beside_a_firing_one_does_not_raise_the_severity() -> None:
    n = notification(alert(severity=Severity.WARNING), alert(firing=False))

    assert pagerduty().render(n).json()["payload"]["severity"] == "warning"


def test_summary_is_cut_to_1024_characters() -> None:
    n = notification(alert(annotations={"summary": "é" * 5000}))

    summary = pagerduty().render(n).json()["payload"]["summary"]

    assert len(summary) == 1024
    assert summary.startswith(
        "[FIRING:1] SlowQueryP95 (table=users): 212.35 (threshold > 200) · éé"
    )
    assert summary.endswith("…")


def test_without_a_status_page_there_are_no_links() -> None:
    event = pagerduty().render(notification(status_url=None)).json()

    assert "links" not in event
    assert "client_url" not in event


def test_group_comes_from_the_common_team_label() -> None:
    n = notification(alert(labels=(("table", "users"), ("team", "database"))))

    assert pagerduty().render(n).json()["payload"]["group"] == "database"
    assert "group" not in pagerduty().render(notification()).json()["payload"]


def test_a_value_json_cannot_hold_goes_as_text() -> None:
    n = notification(alert(value=math.nan), alert(value=math.inf, fingerprint="1" * 16))

    alerts = pagerduty().render(n).json()["payload"]["custom_details"]["alerts"]

    assert [a["value"] for a in alerts] == ["nan", "inf"]


def test_details_too_big_for_pagerduty_are_shortened_not_refused() -> None:
    n = notification(
        *(
            alert(annotations={"description": "d" * 3000}, fingerprint=f"{i:016x}")
            for i in range(400)
        )
    )

    payload = pagerduty().render(n)

    details = payload.json()["payload"]["custom_details"]
    assert len(payload.body) <= MAX_EVENT_BYTES
    assert details["omitted_alerts"] == 300
    assert len(details["alerts"][0]["annotations"]["description"]) == 1024
    assert fakes.pagerduty_problems(fakes.received(payload)) == []


def test_an_empty_source_is_refused() -> None:
    with pytest.raises(ValueError, match="source"):
        pagerduty(source="")


async def test_delivery_over_a_socket_returns_pagerdutys_dedup_key(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = PagerDutyReceiver(
        "ops", SecretStr(ROUTING_KEY), client=client, url=f"{fake.base_url}/pagerduty/v2/enqueue"
    )
    n = notification()

    triggered = await receiver.send(receiver.render(n))
    cleared = await receiver.send(receiver.render(resolved(n)))

    assert triggered.ref == cleared.ref == dedup_key(n.group_key)
    assert [r.json()["event_action"] for r in fake.pagerduty.requests] == ["trigger", "resolve"]


def test_the_oracle_rejects_what_pagerduty_would() -> None:
    good = pagerduty().render(notification()).json()

    def problems(**changes: object) -> list[str]:
        event = {**good, "payload": {**good["payload"], **changes}}
        return fakes.pagerduty_problems(
            Received("/pagerduty/v2/enqueue", {}, json.dumps(event).encode())
        )

    assert problems() == []
    assert problems(summary="s" * 1025)
    assert problems(severity="fatal")
    assert problems(source="")
    assert problems(colour="red")
