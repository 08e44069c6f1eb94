"""PagerDuty's replies: every 2xx that does not say otherwise delivers the event."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from alertd.errors import ReceiverError
from alertd.notify.receivers import PagerDutyReceiver
from alertd.notify.receivers.pagerduty import dedup_key
from tests.notify.fakes import Answer, FakeServices, notification

pytestmark = pytest.mark.anyio

ROUTING_KEY = "pdROUTINGkeySECRET00000000000002"


def receiver(client: httpx.AsyncClient, fake: FakeServices) -> PagerDutyReceiver:
    url = f"{fake.base_url}/pagerduty/v2/enqueue"
    return PagerDutyReceiver("ops", SecretStr(ROUTING_KEY), client=client, url=url)


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_a_2xx_saying_success_is_delivered_with_pagerdutys_dedup_key(
    status: int, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    n = notification()
    key = dedup_key(n.group_key)
    body = {"status": "success", "message": "Event processed", "dedup_key": key}
    fake.pagerduty.then(Answer(status, body))

    delivered = await receiver(client, fake).send(receiver(client, fake).render(n))

    assert delivered.ref == key


async def test_a_2xx_without_a_body_is_delivered(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.pagerduty.then(Answer(204))

    delivered = await receiver(client, fake).send(receiver(client, fake).render(notification()))

    assert delivered.ref is None


async def test_a_2xx_naming_another_status_is_a_permanent_failure(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": ["x"]}
    fake.pagerduty.then(Answer(200, body))
    r = receiver(client, fake)

    with pytest.raises(ReceiverError) as caught:
        await r.send(r.render(notification()))

    assert not caught.value.retryable
    assert "HTTP 200: Event object is invalid: x" in str(caught.value)
