"""The lag estimator: each dataset's ingest lag from the newest rows, and the delay it sets."""

from __future__ import annotations

import datetime as dt

from alertd.engine.freshness import FALL_RATE, MARGIN, DelayBounds, Fill, LagEstimator, complete_age

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
AUTO = DelayBounds(minimum=dt.timedelta(seconds=10), maximum=dt.timedelta(seconds=180))


def s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def test_before_any_reading_the_longest_delay_is_used() -> None:
    lags = LagEstimator(AUTO)
    assert lags.lag("db") is None
    assert lags.delay(["db"], T0) == s(180)
    lags.observe("db", None, T0)  # an empty answer says nothing
    assert lags.delay(["db"], T0) == s(180)


def test_the_lag_is_the_age_of_the_newest_row_plus_a_margin() -> None:
    lags = LagEstimator(AUTO)
    lags.observe("db", T0 - s(45), T0)
    assert lags.lag("db") == s(45)
    assert lags.delay(["db"], T0) == s(45) + MARGIN


def test_a_group_waits_for_its_slowest_dataset() -> None:
    lags = LagEstimator(AUTO)
    lags.observe("db", T0 - s(30), T0)
    lags.observe("perf", T0 - s(70), T0)
    assert lags.delay(["db", "perf"], T0) == s(70) + MARGIN
    assert lags.delay(["db"], T0) == s(30) + MARGIN
    # A dataset too quiet to measure is taken to land as late as the slowest measured.
    assert lags.delay(["db", "quiet"], T0) == s(70) + MARGIN


def test_a_quiet_dataset_s_old_newest_row_is_not_lag() -> None:
    lags = LagEstimator(AUTO)
    # Three errors in five minutes, the last 400 s ago: nothing says the rows are late.
    lags.observe("errors", T0 - s(400), T0, Fill(T0 - s(60), s(300), before=3, after=0))
    assert lags.lag("errors") is None
    assert not lags.lagging("errors")
    # Two rows a second, none for the last 400 s: they are late.
    lags.observe("api", T0 - s(400), T0, Fill(T0 - s(60), s(300), before=600, after=0))
    assert lags.lag("api") == s(400)
    assert lags.lagging("api")


def test_the_delay_stays_within_its_bounds() -> None:
    lags = LagEstimator(AUTO)
    lags.observe("quick", T0, T0)
    lags.observe("stuck", T0 - s(600), T0)
    assert lags.delay(["quick"], T0) == s(10)
    assert lags.delay(["stuck"], T0) == s(180)
    assert lags.lagging("stuck")
    assert not lags.lagging("quick")


def test_a_slower_reading_counts_at_once_and_a_faster_one_only_once_the_slow_ones_age_out() -> None:
    lags = LagEstimator(AUTO, memory=dt.timedelta(minutes=5))
    lags.observe("db", T0 - s(30), T0)
    at = T0 + s(30)
    lags.observe("db", at - s(90), at)  # ingest slows: the next tick waits longer
    assert lags.lag("db") == s(90)
    for tick in range(1, 10):  # a quick row now and then does not end the caution
        now = at + s(30 * tick)
        lags.observe("db", now - s(20), now)
    assert lags.lag("db") == s(90)
    later = at + s(301)
    lags.observe("db", later - s(20), later)
    assert lags.lag("db") == s(20)


def test_a_shrinking_delay_falls_gradually_so_no_grid_point_is_skipped() -> None:
    lags = LagEstimator(AUTO, memory=dt.timedelta(seconds=60))
    lags.observe("db", T0 - s(100), T0)
    assert lags.delay(["db"], T0) == s(100) + MARGIN
    later = T0 + s(61)
    lags.observe("db", later - s(20), later)
    assert lags.lag("db") == s(20)
    assert lags.delay(["db"], later) == s(100) + MARGIN - FALL_RATE * s(61)
    # It reaches the measured lag in the end.
    end = later + s(600)
    lags.observe("db", end - s(20), end)
    assert lags.delay(["db"], end) == s(20) + MARGIN


def test_a_fixed_delay_ignores_the_lag_but_still_measures_it() -> None:
    lags = LagEstimator(DelayBounds(s(10), s(180), fixed=s(60)))
    lags.observe("db", T0 - s(120), T0)
    assert lags.delay(["db"], T0) == s(60)
    assert lags.lags() == {"db": s(120)}
    assert not lags.auto


def test_a_row_from_the_future_reads_as_no_lag() -> None:
    lags = LagEstimator(AUTO)
    lags.observe("db", T0 + s(5), T0)
    assert lags.lag("db") == s(0)
    assert lags.delay(["db"], T0) == s(10)


def landed_after(at: dt.datetime, now: dt.datetime, lag: float, spread: float) -> int:
    """Rows (one a second) past `at` landed by `now`, each `lag` plus an even share of
    `spread` late: what the statement counts after its windows' end."""
    count = 0
    for second in range(int((now - at).total_seconds())):
        age = (now - at).total_seconds() - second
        for share in range(10):
            count += age >= lag + spread * (share + 0.5) / 10
    return count


def test_the_fill_after_the_end_tells_how_far_back_rows_are_complete() -> None:
    at = T0 - s(100)
    window = s(300)
    for lag, spread in ((30, 0), (30, 60), (45, 15), (60, 30)):
        after = landed_after(at, T0, lag, spread)
        fill = Fill(at, window, before=3000, after=after)
        age = complete_age(s(lag), T0, fill).total_seconds()
        assert abs(age - (lag + spread)) <= 2, (lag, spread, age)


def test_a_delay_shorter_than_the_spread_still_sees_it() -> None:
    at = T0 - s(45)  # rows land 30 to 90 s late; the window ends 45 s ago
    fill = Fill(at, s(300), before=3000, after=landed_after(at, T0, 30, 60))
    age = complete_age(s(30), T0, fill).total_seconds()
    # Few rows have landed past the end: a rougher reading, which raises the delay at once.
    assert 80 <= age <= 95


def test_without_rows_after_the_end_only_the_lag_is_known() -> None:
    assert complete_age(s(40), T0, Fill(T0 - s(30), s(300), 3000, 0)) == s(40)
    assert complete_age(s(40), T0, None) == s(40)
