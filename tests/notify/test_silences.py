import contextlib
import dataclasses
import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from alertd.model import Labels, SilenceRecord
from alertd.notify.matchers import Matcher, parse_matchers
from alertd.notify.silences import (
    Silence,
    SilenceError,
    Silencer,
    expire,
    from_record,
    is_silenced,
    new_silence,
    parse_cli_matchers,
    to_record,
)

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
USERS = (("alertname", "SlowQueryP95"), ("table", "users"))


def silence(matchers: str = 'alertname="SlowQueryP95"', id: str = "s1", **kw: object) -> Silence:
    fields: dict[str, object] = {
        "starts_at": T0,
        "ends_at": T0 + HOUR,
        "created_by": "ana",
        "comment": "migrating users",
    }
    fields.update(kw)
    return Silence(id, parse_matchers(matchers), **fields)  # type: ignore[arg-type]


def test_a_silence_mutes_matching_alerts_from_its_start_until_its_end() -> None:
    s = silence()
    assert is_silenced(USERS, [s], T0 - dt.timedelta(seconds=1)) is None
    assert is_silenced(USERS, [s], T0) == s
    assert is_silenced(USERS, [s], T0 + HOUR - dt.timedelta(seconds=1)) == s
    assert is_silenced(USERS, [s], T0 + HOUR) is None


def test_every_matcher_of_a_silence_must_hold() -> None:
    s = silence('alertname="SlowQueryP95", table="orders"')
    assert is_silenced(USERS, [s], T0) is None


def test_the_silence_ending_last_is_reported() -> None:
    short = silence(id="short")
    long = silence('table="users"', id="long", ends_at=T0 + 3 * HOUR)
    assert is_silenced(USERS, [long, short], T0) == long
    assert is_silenced(USERS, [short, long], T0) == long


def test_a_silence_reports_its_state_in_alertmanagers_words() -> None:
    s = silence()
    assert [s.state(T0 - HOUR), s.state(T0), s.state(T0 + HOUR)] == [
        "pending",
        "active",
        "expired",
    ]


@pytest.mark.parametrize(
    ("matchers", "ok"),
    [
        ('alertname=~".*"', False),
        ('alertname!="x"', False),
        ('alertname=""', False),
        ('alertname=~".*", table!~"x"', False),
        ('alertname=~".*", table="users"', True),
        ('alertname=~".+"', True),
    ],
)
def test_a_silence_must_not_match_every_alert(matchers: str, ok: bool) -> None:
    if ok:
        assert silence(matchers).matchers == parse_matchers(matchers)
    else:
        with pytest.raises(SilenceError, match="would silence every alert"):
            silence(matchers)


def test_an_invalid_silence_lists_every_reason() -> None:
    with pytest.raises(SilenceError) as caught:
        Silence("s", (), T0, T0 - HOUR, " ", "")
    message = str(caught.value)
    assert "the end must come after the start" in message
    assert "at least one matcher" in message
    assert "created_by is empty" in message


def test_naive_times_are_refused() -> None:
    with pytest.raises(SilenceError, match="time zone"):
        silence(starts_at=dt.datetime(2025, 3, 1), ends_at=dt.datetime(2025, 3, 2))


def test_a_new_silence_must_end_after_it_starts_and_after_now_and_say_why() -> None:
    matchers = parse_matchers('alertname="SlowQueryP95"')
    made = new_silence("s", matchers, T0, T0 + HOUR, "ana", "deploy", now=T0)
    assert made.active(T0)
    with pytest.raises(SilenceError, match="end must come after the start"):
        new_silence("s", matchers, T0, T0, "ana", "deploy", now=T0)
    with pytest.raises(SilenceError, match="already be over"):
        new_silence("s", matchers, T0 - 2 * HOUR, T0 - HOUR, "ana", "deploy", now=T0)
    with pytest.raises(SilenceError, match="comment is empty"):
        new_silence("s", matchers, T0, T0 + HOUR, "ana", "  ", now=T0)


def test_expiring_ends_a_silence_now_even_before_it_started() -> None:
    active = silence()
    ended = expire(active, T0 + dt.timedelta(minutes=5))
    assert ended.ends_at == T0 + dt.timedelta(minutes=5)
    assert ended.state(T0 + dt.timedelta(minutes=5)) == "expired"
    pending = silence(starts_at=T0 + HOUR, ends_at=T0 + 2 * HOUR)
    cancelled = expire(pending, T0)
    assert (cancelled.starts_at, cancelled.ends_at) == (T0, T0)
    assert is_silenced(USERS, [cancelled], T0) is None
    assert expire(ended, T0 + 2 * HOUR) is ended


def test_cli_arguments_become_matchers_with_a_bare_first_alert_name() -> None:
    assert parse_cli_matchers(["SlowQueryP95", "table=users", 'env!~"dev|test"']) == (
        Matcher("alertname", "=", "SlowQueryP95"),
        Matcher("table", "=", "users"),
        Matcher("env", "!~", "dev|test"),
    )
    assert parse_cli_matchers(['{team="db", table=~"u.*"}']) == parse_matchers(
        'team="db", table=~"u.*"'
    )


def test_a_bad_cli_matcher_names_the_argument() -> None:
    with pytest.raises(SilenceError, match=r"'table': expected an operator"):
        parse_cli_matchers(["SlowQueryP95", "table"])


def test_a_stored_silence_is_parsed_once_however_often_it_is_loaded() -> None:
    # The notifier loads the active silences every second; their regexes are compiled once.
    stored = to_record(silence('alertname="SlowQueryP95", table=~"users|orders"'))
    first = from_record(stored)
    again = from_record(SilenceRecord(*dataclasses.astuple(stored)))
    assert again == first
    assert all(a is b for a, b in zip(again.matchers, first.matchers, strict=True))
    assert is_silenced(USERS, [again], T0) == first


some_matchers = st.lists(
    st.sampled_from(
        [
            'alertname="A"',
            'alertname="B"',
            'alertname=~"A|B"',
            'table="users"',
            'table="orders"',
            'table=""',
            'team=~"d.*"',
            'team!="db"',
            'severity="critical"',
        ]
    ),
    min_size=1,
    max_size=3,
).map(", ".join)
some_hours = st.integers(min_value=-2, max_value=2).map(lambda h: T0 + h * HOUR)
some_labels = st.fixed_dictionaries(
    {"alertname": st.sampled_from(["A", "B"])},
    optional={
        "table": st.sampled_from(["users", "orders"]),
        "team": st.sampled_from(["db", "web"]),
        "severity": st.sampled_from(["critical", "warning"]),
    },
).map(lambda d: tuple(sorted(d.items())))


@st.composite
def some_silences(draw: st.DrawFn) -> list[Silence]:
    found = []
    for index, (matchers, start, end) in enumerate(
        draw(st.lists(st.tuples(some_matchers, some_hours, some_hours), max_size=8))
    ):
        # Some are refused, e.g. only `table=""`, which would silence nearly everything.
        with contextlib.suppress(SilenceError):
            found.append(silence(matchers, f"s{index}", starts_at=start, ends_at=end))
    return found


@given(some_silences(), st.lists(some_labels, max_size=10), st.lists(some_labels, max_size=3))
@example([silence('alertname="SlowQueryP95", table=""')], [USERS, USERS[:1]], [])
def test_the_index_finds_the_silence_that_checking_every_silence_finds(
    silences: list[Silence], firing: list[Labels], others: list[Labels]
) -> None:
    silencer = Silencer(silences, T0, firing)
    for labels in [*firing, *others]:
        expected = is_silenced(labels, silences, T0)
        assert silencer.silencing(labels) == expected
        assert silencer.silencing(dict(labels)) == expected
