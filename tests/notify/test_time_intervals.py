import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.notify.time_intervals import (
    TimeInterval,
    TimeRange,
    active,
    muted,
    parse_clock,
    parse_days_of_month,
    parse_location,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def at(text: str, zone: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def test_an_empty_interval_always_holds() -> None:
    assert TimeInterval().contains(at("2025-03-01T12:00"))


def test_a_time_range_includes_its_start_and_excludes_its_end() -> None:
    evening = TimeInterval(times=(parse_time_range("22:00", "24:00"),))
    assert not evening.contains(at("2025-03-01T21:59:59"))
    assert evening.contains(at("2025-03-01T22:00"))
    assert evening.contains(at("2025-03-01T23:59:59"))
    assert not evening.contains(at("2025-03-02T00:00"))


def test_a_range_across_midnight_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="split it into two"):
        parse_time_range("22:00", "06:00")
    with pytest.raises(ValueError, match="not after"):
        parse_time_range("10:00", "10:00")
    with pytest.raises(ValueError, match="start_time cannot be 24:00"):
        parse_time_range("24:00", "24:00")


@pytest.mark.parametrize("text", ["24:01", "25:00", "7:00", "07:60", "noon", ""])
def test_a_bad_clock_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid time"):
        parse_clock(text)


def test_clock_times_run_from_midnight_to_24_00() -> None:
    assert parse_clock("00:00") == 0
    assert parse_clock("09:30") == 570
    assert parse_clock("24:00") == 1440


def test_weekday_ranges_read_like_alertmanagers() -> None:
    assert parse_weekdays("monday:friday") == (0, 4)
    assert parse_weekdays("Saturday") == (5, 5)
    workdays = TimeInterval(weekdays=(parse_weekdays("monday:friday"),))
    assert workdays.contains(at("2025-03-07T12:00"))  # a Friday
    assert not workdays.contains(at("2025-03-08T12:00"))  # a Saturday


def test_a_weekday_range_may_wrap_past_sunday() -> None:
    weekend = TimeInterval(weekdays=(parse_weekdays("saturday:sunday"),))
    assert weekend.contains(at("2025-03-09T12:00"))  # Sunday
    assert not weekend.contains(at("2025-03-10T12:00"))  # Monday
    long_weekend = TimeInterval(weekdays=(parse_weekdays("friday:monday"),))
    assert long_weekend.contains(at("2025-03-10T12:00"))
    assert not long_weekend.contains(at("2025-03-11T12:00"))  # Tuesday
    every_day = TimeInterval(weekdays=(parse_weekdays("sunday:saturday"),))
    assert all(every_day.contains(at(f"2025-03-{d:02}T12:00")) for d in range(3, 10))


def test_negative_days_count_back_from_the_end_of_each_month() -> None:
    last_day = TimeInterval(days_of_month=(parse_days_of_month("-1"),))
    assert last_day.contains(at("2024-02-29T12:00"))  # a leap year
    assert not last_day.contains(at("2024-02-28T12:00"))
    assert last_day.contains(at("2025-02-28T12:00"))
    assert last_day.contains(at("2025-04-30T12:00"))
    last_week = TimeInterval(days_of_month=(parse_days_of_month("-7:-1"),))
    assert last_week.contains(at("2025-01-25T00:00"))
    assert not last_week.contains(at("2025-01-24T23:59"))
    to_month_end = TimeInterval(days_of_month=(parse_days_of_month("25:-1"),))
    assert to_month_end.contains(at("2025-02-28T00:00"))
    assert not to_month_end.contains(at("2025-02-24T00:00"))


def test_a_day_a_month_lacks_never_holds_in_it() -> None:
    the_31st = TimeInterval(days_of_month=(parse_days_of_month("31"),))
    assert the_31st.contains(at("2025-03-31T12:00"))
    assert not any(the_31st.contains(at(f"2025-04-{d:02}T12:00")) for d in range(1, 31))
    assert not the_31st.contains(at("2025-05-01T12:00"))


def test_a_negative_start_reaching_before_the_month_starts_at_day_one() -> None:
    assert TimeInterval(days_of_month=(parse_days_of_month("-31:-28"),)).contains(
        at("2025-02-01T00:00")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "does not exist"),
        ("32", "out of range"),
        ("-32", "out of range"),
        ("5:1", "end day is before the start day"),
        ("-1:5", "end day must be too"),
        ("28:-5", "end day is before the start day"),
        ("1:2:3", "one colon"),
    ],
)
def test_impossible_days_of_month_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_days_of_month(text)


def test_months_and_years_take_names_numbers_and_ranges() -> None:
    assert parse_months("january:march") == (1, 3)
    assert parse_months("12") == (12, 12)
    assert parse_months("December") == (12, 12)
    assert parse_years("2025:2026") == (2025, 2026)
    winter_2025 = TimeInterval(months=(parse_months("1:2"),), years=(parse_years("2025"),))
    assert winter_2025.contains(at("2025-02-10T00:00"))
    assert not winter_2025.contains(at("2025-03-01T00:00"))
    assert not winter_2025.contains(at("2026-01-10T00:00"))


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_months, "march:january", "end month comes before the start"),
        (parse_months, "13", "out of range"),
        (parse_months, "smarch", "unknown month"),
        (parse_years, "2026:2025", "end year comes before"),
        (parse_weekdays, "funday", "unknown weekday"),
    ],
)
def test_bad_months_years_and_weekdays_are_refused(parse: object, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)  # type: ignore[operator]


def test_fields_are_judged_on_the_locations_wall_clock() -> None:
    berlin_morning = TimeInterval(times=(TimeRange(9 * 60, 10 * 60),), location=BERLIN)
    assert berlin_morning.contains(at("2025-01-15T08:30"))  # 09:30 in Berlin (UTC+1)
    assert not berlin_morning.contains(at("2025-01-15T09:30"))
    assert berlin_morning.contains(at("2025-07-15T07:30"))  # 09:30 in Berlin (UTC+2)
    # The weekday is the local one too: Sunday 23:30 UTC is Monday 00:30 in Berlin.
    monday = TimeInterval(weekdays=(parse_weekdays("monday"),), location=BERLIN)
    assert monday.contains(at("2025-03-09T23:30"))


def test_an_hour_skipped_by_daylight_saving_never_holds() -> None:
    two_to_three = TimeInterval(times=(parse_time_range("02:00", "03:00"),), location=BERLIN)
    # 2025-03-30: Berlin clocks jump from 02:00 to 03:00 (01:00 UTC).
    start = at("2025-03-29T22:00")
    minutes = [start + dt.timedelta(minutes=m) for m in range(6 * 60)]
    assert not any(two_to_three.contains(t) for t in minutes)


def test_an_hour_repeated_by_daylight_saving_holds_twice() -> None:
    two_to_three = TimeInterval(times=(parse_time_range("02:00", "03:00"),), location=BERLIN)
    # 2025-10-26: Berlin clocks go back from 03:00 to 02:00 (01:00 UTC).
    start = at("2025-10-25T22:00")
    minutes = [start + dt.timedelta(minutes=m) for m in range(6 * 60)]
    holding = [t for t in minutes if two_to_three.contains(t)]
    assert len(holding) == 120
    assert holding[0] == at("2025-10-26T00:00")
    assert holding[-1] == at("2025-10-26T01:59")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeInterval().contains(dt.datetime(2025, 1, 1))


def test_unknown_and_host_dependent_zones_are_refused() -> None:
    assert parse_location("Europe/Berlin") == BERLIN
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_location("Mars/Olympus")
    with pytest.raises(ValueError, match="depends on the host"):
        parse_location("Local")


def test_a_list_of_intervals_holds_when_any_does() -> None:
    nights = (
        TimeInterval(times=(parse_time_range("22:00", "24:00"),)),
        TimeInterval(times=(parse_time_range("00:00", "06:00"),)),
    )
    assert active(nights, at("2025-03-01T23:00"))
    assert active(nights, at("2025-03-01T05:59"))
    assert not active(nights, at("2025-03-01T06:00"))
    assert not active((), at("2025-03-01T06:00"))


def test_a_route_is_muted_in_mute_intervals_and_outside_active_ones() -> None:
    definitions = {
        "nights": (TimeInterval(times=(parse_time_range("22:00", "24:00"),)),),
        "workdays": (TimeInterval(weekdays=(parse_weekdays("monday:friday"),)),),
    }
    friday_night, saturday_noon = at("2025-03-07T23:00"), at("2025-03-08T12:00")
    assert muted(["nights"], [], definitions, friday_night)
    assert not muted(["nights"], [], definitions, saturday_noon)
    assert muted([], ["workdays"], definitions, saturday_noon)
    assert not muted([], ["workdays"], definitions, friday_night)
    assert not muted([], [], definitions, friday_night)


@given(st.data(), st.integers(0, 1439), st.datetimes(timezones=st.just(dt.UTC)))
def test_a_time_range_holds_exactly_when_the_minute_is_inside(
    data: st.DataObject, start: int, moment: dt.datetime
) -> None:
    end = data.draw(st.integers(start + 1, 1440))
    minute = moment.hour * 60 + moment.minute
    assert TimeInterval(times=(TimeRange(start, end),)).contains(moment) is (start <= minute < end)
