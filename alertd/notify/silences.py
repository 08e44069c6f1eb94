"""Silences: matchers plus a time window, during which matching alerts are not notified."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from alertd.model import SilenceRecord
from alertd.notify.matchers import (
    LabelSet,
    Matcher,
    MatcherError,
    as_mapping,
    parse_matcher,
    parse_matchers,
)


class SilenceError(ValueError):
    """A silence cannot be created; the message lists every reason."""


@dataclass(frozen=True)
class Silence:
    """One silence; construction refuses one that breaks an invariant (see `problems`)."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str

    def __post_init__(self) -> None:
        found = problems(self.matchers, self.starts_at, self.ends_at, self.created_by)
        if found:
            raise SilenceError("; ".join(found))

    def active(self, now: dt.datetime) -> bool:
        """Whether the silence mutes alerts at `now` (start included, end excluded)."""
        return self.starts_at <= now < self.ends_at

    def state(self, now: dt.datetime) -> str:
        """`pending`, `active` or `expired`, the words Alertmanager shows."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


def problems(
    matchers: Sequence[Matcher], starts_at: dt.datetime, ends_at: dt.datetime, created_by: str
) -> list[str]:
    """What makes a silence invalid at any time; empty when it is fine.

    As in Alertmanager, at least one matcher must not match an empty label: a silence of
    only `=~".*"`, `!="x"` or `=""` matchers would mute (nearly) every alert. An end equal
    to the start is allowed, since that is how a silence expired before it began ends.
    """
    found: list[str] = []
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        found.append("start and end need a time zone")
    elif ends_at < starts_at:
        found.append("the end must come after the start")
    if not matchers:
        found.append("at least one matcher is needed")
    elif all(m.matches_empty for m in matchers):
        found.append(
            "the matchers would silence every alert: at least one must require a "
            'non-empty label, e.g. alertname="SlowQueryP95"'
        )
    if not created_by.strip():
        found.append("created_by is empty: say who is silencing")
    return found


def new_silence(
    id: str,
    matchers: Sequence[Matcher],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    created_by: str,
    comment: str,
    now: dt.datetime,
) -> Silence:
    """A silence someone asks for at `now`; raise SilenceError listing every reason to refuse.

    Beyond the invariants, a new silence must end after it starts and after `now` (one
    that is already over would do nothing), and must say why it exists.
    """
    found = problems(matchers, starts_at, ends_at, created_by)
    aware = starts_at.tzinfo is not None and ends_at.tzinfo is not None
    if aware and ends_at == starts_at:
        found.append("the end must come after the start")
    if aware and ends_at > starts_at and ends_at <= now:
        found.append("the silence would already be over")
    if not comment.strip():
        found.append("comment is empty: say why")
    if found:
        raise SilenceError("; ".join(found))
    return Silence(id, tuple(matchers), starts_at, ends_at, created_by, comment)


def expire(silence: Silence, now: dt.datetime) -> Silence:
    """The silence ended at `now`; a pending one ends before it ever starts."""
    if silence.state(now) == "expired":
        return silence
    starts_at = min(silence.starts_at, now)
    return replace(silence, starts_at=starts_at, ends_at=now)


def is_silenced(labels: LabelSet, silences: Iterable[Silence], now: dt.datetime) -> Silence | None:
    """The active silence muting these labels (the one ending last), or None."""
    as_dict = as_mapping(labels)
    muting = [s for s in silences if s.active(now) and all(m.matches(as_dict) for m in s.matchers)]
    return max(muting, key=lambda s: (s.ends_at, s.id), default=None)


class Silencer:
    """The silences active at one instant, indexed to answer `is_silenced` for many alerts.

    A silence with a matcher `name="value"` (value not empty) can only mute alerts that
    carry that label and value, so it is filed under that pair (of several, the one fewest
    of the alerts carry) and compared only with the alerts carrying it. Silences with no
    such matcher (only regexes or negations) are compared with every alert.
    """

    def __init__(
        self, silences: Iterable[Silence], now: dt.datetime, alerts: Iterable[LabelSet]
    ) -> None:
        self._now = now
        self._everywhere: list[Silence] = []
        self._filed: defaultdict[tuple[str, str], list[Silence]] = defaultdict(list)
        active = [(s, _required_pairs(s)) for s in silences if s.active(now)]
        carried: Counter[tuple[str, str]] = Counter()
        if any(len(pairs) > 1 for _, pairs in active):
            carried.update(pair for labels in alerts for pair in as_mapping(labels).items())
        for silence, pairs in active:
            if pairs:
                self._filed[min(pairs, key=lambda pair: carried[pair])].append(silence)
            else:
                self._everywhere.append(silence)

    def silencing(self, labels: LabelSet) -> Silence | None:
        """The active silence muting these labels (the one ending last), or None."""
        as_dict = as_mapping(labels)
        filed = (s for pair in as_dict.items() for s in self._filed.get(pair, ()))
        return is_silenced(as_dict, [*self._everywhere, *filed], self._now)


def _required_pairs(silence: Silence) -> list[tuple[str, str]]:
    return [(m.name, m.value) for m in silence.matchers if m.op == "=" and m.value]


def parse_cli_matchers(arguments: Sequence[str]) -> tuple[Matcher, ...]:
    """Matchers from command-line arguments, each `name="value"`, `name=value` or a braced list.

    As with amtool, a first argument without an operator names the alert:
    `SlowQueryP95 table=users` means `alertname="SlowQueryP95", table="users"`.
    """
    found: list[Matcher] = []
    for index, argument in enumerate(arguments):
        if index == 0 and _is_bare_alertname(argument):
            found.append(Matcher("alertname", "=", argument.strip()))
            continue
        try:
            found.extend(parse_matchers(argument))
        except MatcherError as exc:
            raise SilenceError(f"{argument!r}: {exc.message}") from None
    return tuple(found)


def _is_bare_alertname(argument: str) -> bool:
    text = argument.strip()
    return bool(text) and not any(char in text for char in '=!~{}",')


def from_record(record: SilenceRecord) -> Silence:
    """A stored silence back as a value; its matchers were valid when it was stored."""
    return Silence(
        record.id,
        _parsed(tuple(record.matchers)),
        record.starts_at,
        record.ends_at,
        record.created_by,
        record.comment,
    )


@functools.lru_cache(maxsize=4096)
def _parsed(texts: tuple[str, ...]) -> tuple[Matcher, ...]:
    """A stored silence's matchers, parsed once rather than at each of the notifier's
    once-a-second loads of the active silences (a Matcher is immutable, so it is shared)."""
    return tuple(parse_matcher(text) for text in texts)


def to_record(silence: Silence) -> SilenceRecord:
    return SilenceRecord(
        silence.id,
        tuple(str(m) for m in silence.matchers),
        silence.starts_at,
        silence.ends_at,
        silence.created_by,
        silence.comment,
    )
