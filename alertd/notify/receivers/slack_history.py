"""Finding a Slack bot's earlier post of a notification, by the id in its metadata.

Every first message of a group goes out with message metadata (`event_type`
`alertd_notification`, `event_payload` holding the notification's id). A send in doubt is
looked up in `conversations.history` (`include_all_metadata`), from a little before the
notification was made, a page at a time: Slack's facts are in `reference/notifiers.md`
and its method reference (a bot needs `channels:history`, or `groups:history` for a
private channel, and the channel's ID: the method takes no names).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from alertd.model import Notification

EVENT_TYPE = "alertd_notification"
# Slack's clock and this replica's may differ; the post cannot predate the notification
# by more than that.
CLOCK_MARGIN = dt.timedelta(minutes=5)
PAGE_SIZE = 200
MAX_PAGES = 10
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def metadata(n: Notification) -> dict[str, Any]:
    """The metadata a group's first message carries, naming its notification and group."""
    return {"event_type": EVENT_TYPE, "event_payload": {"notification": n.id, "group": n.group_key}}


def is_channel_id(channel: str) -> bool:
    """Whether `channel` is an ID (`C0123ABCD`) rather than a name (`#alerts`)."""
    return CHANNEL_ID.match(channel) is not None


def history_query(
    channel: str, n: Notification, cursor: str | None, *, of_group: bool = False
) -> dict[str, str]:
    """The form of one `conversations.history` call looking for `n`'s post or, `of_group`,
    for its group's message of the incident `n` resolves: not before its alerts began (an
    incident resolved before posted earlier)."""
    if of_group and n.alerts:
        oldest = min(a.starts_at for a in n.alerts).timestamp()
    else:
        oldest = (n.created_at - CLOCK_MARGIN).timestamp()
    query = {
        "channel": channel,
        "oldest": f"{oldest:.6f}",
        "include_all_metadata": "true",
        "limit": str(PAGE_SIZE),
    }
    if cursor:
        query["cursor"] = cursor
    return query


def posted_ts(answer: dict[str, Any], key: str, value: str) -> str | None:
    """The ts of the newest message in a history page (newest first) whose metadata
    has `key` (`notification` or `group`) equal to `value`."""
    for message in answer.get("messages") or ():
        meta = message.get("metadata") if isinstance(message, dict) else None
        if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
            continue
        payload = meta.get("event_payload")
        if isinstance(payload, dict) and payload.get(key) == value:
            ts = message.get("ts")
            return str(ts) if ts is not None else None
    return None


def next_cursor(answer: dict[str, Any]) -> str | None:
    """The cursor of the next page, when Slack says there is one."""
    if not answer.get("has_more"):
        return None
    meta = answer.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return str(cursor) if cursor else None
