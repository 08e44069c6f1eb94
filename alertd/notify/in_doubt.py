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

A first message in doubt may be superseded by its group's resolve before any leader
settles it. The resolve then has no confirmed message to update (a trigger confirmed
would have left one), so a receiver that can (`FindsMessages`) looks for the group's
message, and the resolve updates it instead of posting one more.
"""

from __future__ import annotations

import structlog

from alertd.errors import ReceiverError
from alertd.model import OutboxEntry
from alertd.notify.receivers.base import Delivered, FindsMessages, Payload, Recalls, Receiver

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


async def unconfirmed_message(receiver: Receiver, entry: OutboxEntry) -> str | None:
    """For a resolve with no confirmed message to update: the message an unconfirmed post
    of its group made, when the service finds one."""
    if entry.notification.firing or not isinstance(receiver, FindsMessages):
        return None
    found: str | None
    try:
        found = await receiver.group_message(entry.notification)
    except ReceiverError:
        found = None  # posted anew, as before the question
    log.info(
        "notification.unconfirmed_message",
        receiver=entry.notification.receiver,
        notification=entry.id,
        found=found is not None,
    )
    return found
