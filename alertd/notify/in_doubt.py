"""Sends in doubt: an attempt whose answer was never recorded may have reached the service.

The delivery loop marks every attempt in the store before it sends (the send's fence).
An entry still pending with attempts counted was attempted before and its outcome is
unknown or was a failure that may have passed all the same (a timeout): a leader killed
between its mark and its record, or one that lost its lease while sending, leaves it so
to its successor. Before such an entry is sent again, a receiver whose service can be
asked (`Recalls`) is asked whether the earlier attempt arrived; if it did, the entry is
delivered as it is, without a second message. Other services are sent to again: PagerDuty
merges a repeated trigger into the open alert of its `dedup_key`, webhooks carry an
`Idempotency-Key`, and Teams and Slack's incoming webhooks cannot be asked.
"""

from __future__ import annotations

import structlog

from alertd.errors import ReceiverError
from alertd.model import OutboxEntry
from alertd.notify.receivers.base import Delivered, Payload, Recalls, Receiver

log = structlog.get_logger(__name__)


async def earlier_delivery(
    receiver: Receiver, entry: OutboxEntry, payload: Payload
) -> Delivered | None:
    """What the service holds of an earlier attempt of `entry`, or None: never attempted,
    not found, or a service that cannot be asked (then it is sent again).

    Raises the `ReceiverError` of a question that may pass later (rate limited), so the
    entry is retried rather than perhaps sent twice."""
    if entry.attempts == 0:
        return None
    name = entry.notification.receiver
    if not isinstance(receiver, Recalls):
        log.info("notification.in_doubt", receiver=name, notification=entry.id, asked=False)
        return None
    try:
        found = await receiver.sent_before(entry.notification, payload)
    except ReceiverError as exc:
        if exc.retryable:
            raise
        log.warning("notification.in_doubt_unverifiable", receiver=name, notification=entry.id)
        return None
    log.info(
        "notification.in_doubt",
        receiver=name,
        notification=entry.id,
        asked=True,
        found=found is not None,
        attempts=entry.attempts,
    )
    return found
