from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from alertd.commands import simulate
from alertd.simulator.timeline import (
    KINDS,
    ConnectionErrors,
    ErrorBurst,
    SlowTable,
    TimelineError,
    demo_timeline,
    load_timeline,
    parse_timeline,
)

MINUTE = dt.timedelta(minutes=1)


def errors_of(text: str) -> list[str]:
    with pytest.raises(TimelineError) as caught:
        parse_timeline(text, "t.yaml")
    return caught.value.messages


def test_offsets_count_from_the_start_of_the_simulation() -> None:
    timeline = parse_timeline(
        "incidents:\n  - {kind: slow_table, table: users, from: 2m, to: 12m, peak_p95_ms: 320}\n"
    )
    (incident,) = timeline.incidents
    assert isinstance(incident, SlowTable)
    assert (incident.start, incident.end) == (2 * MINUTE, 12 * MINUTE)
    assert (incident.table, incident.peak_p95_ms) == ("users", 320)


def test_intensity_ramps_over_a_third_of_the_incident_by_default() -> None:
    incident = parse_timeline(
        "incidents: [{kind: slow_table, table: users, from: 2m, to: 11m, peak_p95_ms: 320}]"
    ).incidents[0]
    at = [incident.intensity(m * MINUTE) for m in (1, 2, 3.5, 5, 6.5, 8, 9.5, 11)]
    assert at == pytest.approx([0, 0, 0.5, 1, 1, 1, 0.5, 0])


def test_an_explicit_ramp_of_zero_is_a_step() -> None:
    incident = parse_timeline(
        "incidents: [{kind: cache_drop, from: 1m, to: 2m, hit_rate: 0.5, ramp: 0s}]"
    ).incidents[0]
    assert [incident.intensity(s * dt.timedelta(seconds=1)) for s in (59, 60, 119, 120)] == [
        0,
        1,
        1,
        0,
    ]


def test_shares_are_written_as_fractions_or_percentages() -> None:
    timeline = parse_timeline(
        "incidents:\n"
        "  - {kind: error_burst, endpoint: /api/pitches, from: 1m, to: 5m, share: 12%}\n"
        "  - {kind: error_burst, endpoint: /api/search, from: 1m, to: 5m, share: 0.3}\n"
    )
    shares = [i.share for i in timeline.incidents if isinstance(i, ErrorBurst)]
    assert shares == pytest.approx([0.12, 0.3])


def test_connection_errors_default_to_the_database_pool() -> None:
    incident = parse_timeline(
        "incidents: [{kind: connection_errors, from: 1m, to: 5m, per_minute: 4}]"
    ).incidents[0]
    assert isinstance(incident, ConnectionErrors)
    assert incident.source == "neon-pool"


def test_length_is_the_duration_or_ten_minutes_after_the_last_incident() -> None:
    assert parse_timeline("duration: 45m").length == 45 * MINUTE
    timeline = parse_timeline(
        "incidents: [{kind: connection_errors, from: 1m, to: 5m, per_minute: 4}]"
    )
    assert timeline.length == 15 * MINUTE
    assert parse_timeline("").length == 10 * MINUTE


def test_an_unknown_key_is_reported_at_its_line_and_column() -> None:
    messages = errors_of(
        "incidents:\n"
        "  - kind: slow_table\n"
        "    table: users\n"
        "    from: 2m\n"
        "    to: 12m\n"
        "    peak_p95: 320\n"
    )
    assert messages == [
        "t.yaml:2:5: incidents[0].peak_p95_ms: required key 'peak_p95_ms' is missing",
        "t.yaml:6:5: incidents[0].peak_p95: unknown key 'peak_p95'",
    ]


def test_an_unknown_table_names_the_field_and_the_tables_there_are() -> None:
    (message,) = errors_of(
        "incidents:\n  - {kind: failed_queries, table: orders, from: 1m, to: 2m, share: 5%}\n"
    )
    assert message.startswith("t.yaml:2:35: incidents[0].table: Input should be 'pitches'")
    assert "'users'" in message


def test_an_unknown_kind_lists_the_kinds() -> None:
    (message,) = errors_of("incidents:\n  - {kind: meteor, from: 1m, to: 2m}\n")
    assert message.startswith("t.yaml:2:5: incidents[0]: unknown incident kind 'meteor'")
    assert all(kind in message for kind in KINDS)


def test_an_incident_without_kind_says_so() -> None:
    (message,) = errors_of("incidents:\n  - {from: 1m, to: 2m}\n")
    assert message.startswith("t.yaml:2:5: incidents[0]: required key 'kind' is missing")


def test_an_incident_must_end_after_it_starts() -> None:
    (message,) = errors_of("incidents:\n  - {kind: cache_drop, from: 5m, to: 3m, hit_rate: 0.5}\n")
    assert message == "t.yaml:2:5: incidents[0]: `to` (3m) must come after `from` (5m)"


def test_a_ramp_cannot_be_longer_than_half_the_incident() -> None:
    (message,) = errors_of(
        "incidents:\n  - {kind: cache_drop, from: 1m, to: 3m, hit_rate: 0.5, ramp: 90s}\n"
    )
    assert "`ramp` can be at most half" in message


def test_a_bad_duration_names_its_field() -> None:
    (message,) = errors_of("incidents:\n  - {kind: cache_drop, from: soon, to: 3m, hit_rate: 1}\n")
    assert message.startswith("t.yaml:2:30: incidents[0].from: invalid duration 'soon'")


def test_a_share_out_of_range_names_its_field() -> None:
    (message,) = errors_of(
        "incidents:\n"
        "  - {kind: error_burst, endpoint: /api/search, from: 1m, to: 3m, share: 140%}\n"
    )
    assert "incidents[0].share: Input should be less than or equal to 1" in message


def test_incidents_must_end_within_the_duration() -> None:
    (message,) = errors_of(
        "duration: 10m\nincidents:\n  - {kind: cache_drop, from: 5m, to: 12m, hit_rate: 0.5}\n"
    )
    assert message == (
        "t.yaml:1:1: (file): an incident ends at 12m, after the timeline's duration 10m"
    )


def test_invalid_yaml_is_reported_with_its_line() -> None:
    (message,) = errors_of("incidents:\n  - {kind: cache_drop\n")
    assert message.startswith("t.yaml:3:1: invalid YAML")


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TimelineError, match=r"nope\.yaml: cannot read"):
        load_timeline(tmp_path / "nope.yaml")


def test_the_demo_timeline_plays_every_kind_of_incident_within_half_an_hour() -> None:
    timeline = demo_timeline()
    assert {i.kind for i in timeline.incidents} == set(KINDS)
    assert timeline.length == 30 * MINUTE
    assert max(i.end for i in timeline.incidents) <= 20 * MINUTE


def test_the_simulate_command_reports_timeline_errors_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("incidents:\n  - {kind: slow_table, table: users, from: 1m, to: 2m}\n")
    out, err = io.StringIO(), io.StringIO()
    code = simulate.run("http://127.0.0.1:9", path, None, None, False, 1.0, 7, out, err=err)
    assert code == 1
    assert err.getvalue() == (
        f"{path}:2:5: incidents[0].peak_p95_ms: required key 'peak_p95_ms' is missing\n"
    )
    assert out.getvalue() == ""


def test_the_simulate_command_refuses_a_range_with_live(tmp_path: Path) -> None:
    out = io.StringIO()
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert simulate.run("http://127.0.0.1:9", None, start, None, True, 1.0, 7, out) == 1
    assert "--live writes from now on" in out.getvalue()
