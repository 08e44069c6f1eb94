"""The shared texts every receiver shows: titles, alert lines, values, cuts."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.model import Severity
from alertd.notify.receivers import render
from tests.notify.fakes import alert, notification, resolved


def test_a_firing_title_counts_alerts_and_names_rule_and_group() -> None:
    n = notification(alert(), alert(labels=(("table", "pitches"),), fingerprint="0" * 16))

    assert render.title(n) == "[FIRING:2] SlowQueryP95 (table=users)"


def test_a_resolved_title_and_a_test_title() -> None:
    assert render.title(resolved(notification())) == "[RESOLVED] SlowQueryP95 (table=users)"
    assert render.title(notification(test=True)).startswith("[TEST] [FIRING:1] SlowQueryP95")


def test_a_title_lists_each_rule_once_and_leaves_out_alertname() -> None:
    n = notification(alert(), alert("ApiP95"), alert())
    n = replace(n, group_labels=(("alertname", "x"), ("team", "db")))

    assert render.title(n) == "[FIRING:3] SlowQueryP95, ApiP95 (team=db)"


def test_a_firing_headline_shows_value_against_threshold() -> None:
    assert render.headline(alert()) == "SlowQueryP95 · critical · 212.35 (threshold > 200)"


def test_a_resolved_headline_names_the_value_at_resolution_and_the_last_firing_one() -> None:
    ended = replace(alert(firing=False, value=95.5), severity=Severity.WARNING, last_value=157.33)

    assert render.headline(ended) == (
        "SlowQueryP95 · resolved (was warning) · 95.5 at resolution · last firing 157.33"
    )


def test_a_firing_headline_says_why_a_clear_looking_value_still_fires() -> None:
    held = replace(alert(value=130.57), note="recovering: 130.57, resolves below 130")

    assert render.headline(held) == (
        "SlowQueryP95 · critical · 130.57 (threshold > 200)"
        " · recovering: 130.57, resolves below 130"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "no data"),
        (0.0, "0"),
        (212.3456, "212.35"),
        (200.0, "200"),
        (1234567.0, "1,234,567"),
        (-3.5, "-3.5"),
        (0.05123, "0.0512"),
        (math.nan, "nan"),
        (math.inf, "inf"),
    ],
)
def test_values_read_as_people_write_them(value: float | None, text: str) -> None:
    assert render.value_text(value) == text


def test_since_is_in_utc_whatever_the_zone_given() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    a = replace(alert(), starts_at=dt.datetime(2025, 3, 1, 14, 0, tzinfo=plus_two))

    assert render.since_text(a) == "since 2025-03-01 12:00:00 UTC"
    assert render.rfc3339(a.starts_at) == "2025-03-01T12:00:00Z"


def test_severity_is_the_worst_among_firing_alerts() -> None:
    n = notification(alert(severity=Severity.WARNING), alert(firing=False))

    assert render.severity(n) is Severity.WARNING
    assert render.severity(resolved(n)) is None


def test_common_keeps_only_pairs_every_map_shares() -> None:
    maps = [{"a": "1", "b": "2"}, {"a": "1", "b": "3"}, {"a": "1", "c": "4"}]

    assert render.common(maps) == {"a": "1"}
    assert render.common([]) == {}


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert render.utf16_len("a🔥é") == 4


def test_truncate_ends_in_an_ellipsis_within_the_limit() -> None:
    assert render.truncate("abcdef", 4) == "abc…"
    assert render.truncate("abc", 3) == "abc"
    assert render.truncate("🔥🔥🔥", 4, render.utf16_len) == "🔥…"


@given(text=st.text(), limit=st.integers(min_value=1, max_value=50))
def test_truncate_never_exceeds_its_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    cut = render.truncate(text, limit, render.utf16_len)

    assert render.utf16_len(cut) <= limit
    assert text.startswith(cut.removesuffix("…")) or cut == text
