"""The `filter` query parameter: Alertmanager matchers, each `a="b"` or `{a="b",c=~"d"}`."""

from __future__ import annotations

from collections.abc import Sequence

from alertd.notify.matchers import Matcher, MatcherError, parse_matchers
from alertd.server.errors import ApiError


def parse_filters(filters: Sequence[str]) -> list[Matcher]:
    """All matchers of every `filter`; a 400 naming the one that does not parse."""
    found: list[Matcher] = []
    for text in filters:
        try:
            found.extend(parse_matchers(text))
        except MatcherError as exc:
            raise ApiError(400, f"bad filter {text!r}: {exc.message}") from None
    return found
