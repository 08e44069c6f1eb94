"""The notification file (`rules/notify.yaml`): receivers, the route tree, inhibit rules and
time intervals, in Alertmanager's shape, loaded with every error placed at file:line:col.

Receivers whose secrets are not provided are skipped (see `receiver_config`), and routes
naming them pass alerts on to their sub-routes only (see `routing`). The root route's
receiver must be configured, so every alert ends somewhere.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from alertd.errors import Location, RuleError
from alertd.notify.am_receivers import GlobalSpec, receiver_of
from alertd.notify.inhibit import InhibitRule
from alertd.notify.matchers import Matcher, MatcherError, parse_matchers
from alertd.notify.receiver_config import (
    Receiver,
    ReceiverSpec,
    SkippedReceiver,
    integrations,
    resolve,
)
from alertd.notify.receivers.console import ConsoleConfig
from alertd.notify.receivers.fields import Strict
from alertd.notify.report_schedules import REPORT_KINDS, ReportSchedule, ReportScheduleSpec
from alertd.notify.routing import EVERY_LABEL, Route, RouteMatch, inherit
from alertd.notify.time_intervals import (
    Range,
    TimeInterval,
    TimeRange,
    parse_clock,
    parse_days_of_month,
    parse_location,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)
from alertd.rules import yaml_source
from alertd.rules.durations import duration_at_most
from alertd.rules.loader import FOREIGN_KEYS, rule_files
from alertd.rules.yaml_source import Document, dotted, pydantic_errors


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def _matcher_text(text: str) -> str:
    try:
        parse_matchers(text)
    except MatcherError as exc:
        # The offset travels in the error's context so the column can point into the text.
        raise PydanticCustomError(
            "matcher", "invalid matcher: {reason}", {"reason": exc.message, "offset": exc.offset}
        ) from None
    return text


def _regex_text(text: str) -> str:
    try:
        Matcher("x", "=~", text)
    except MatcherError as exc:
        raise ValueError("invalid regex: " + exc.message.partition(": ")[2]) from None
    return text


def _known(kind: str) -> AfterValidator:
    """Checks a name against those the file defines (passed as validation context)."""

    def check(name: str, info: ValidationInfo) -> str:
        known: set[str] | None = (info.context or {}).get(kind)
        if known is not None and name not in known:
            # A name that cannot be printed as it is (a newline) is quoted: one line per error.
            shown = (n if n.isprintable() else repr(n) for n in sorted(known))
            listed = ", ".join(shown) or "none defined"
            raise ValueError(f"unknown {kind.replace('_', ' ')[:-1]} {name!r} (defined: {listed})")
        return name

    return AfterValidator(check)


def _clock(value: object) -> object:
    # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320.
    if isinstance(value, int) and not isinstance(value, bool):
        hours, minutes = divmod(value, 60)
        raise ValueError(f'quote times, e.g. "{hours:02}:{minutes:02}": YAML reads them as numbers')
    if isinstance(value, str):
        parse_clock(value)
    return value


def _zone(name: str) -> str:
    parse_location(name)
    return name


# Waits between messages of one group; a page held back longer than these is a typo.
LONGEST_WAIT = dt.timedelta(days=1)
LONGEST_REPEAT = dt.timedelta(days=90)

Duration = Annotated[dt.timedelta, BeforeValidator(duration_at_most(LONGEST_WAIT))]
Interval = Annotated[
    dt.timedelta, BeforeValidator(duration_at_most(LONGEST_WAIT)), AfterValidator(_positive)
]
RepeatInterval = Annotated[
    dt.timedelta, BeforeValidator(duration_at_most(LONGEST_REPEAT)), AfterValidator(_positive)
]
MatcherText = Annotated[str, AfterValidator(_matcher_text)]
RegexText = Annotated[str, AfterValidator(_regex_text)]
Clock = Annotated[str, BeforeValidator(_clock)]
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
GroupLabel = Annotated[str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*|\.\.\.)$")]
ReceiverRef = Annotated[str, _known("receivers")]
IntervalRef = Annotated[str, _known("time_intervals")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=64)]


def _conditions(
    matchers: Iterable[str], match: Mapping[str, str], match_re: Mapping[str, str]
) -> tuple[Matcher, ...]:
    """Matchers in text form, then Alertmanager's older `match` (equality) and `match_re`
    (an anchored regex) maps, as one list that must all hold."""
    return (
        _parse(matchers)
        + tuple(Matcher(name, "=", value) for name, value in sorted(match.items()))
        + tuple(Matcher(name, "=~", value) for name, value in sorted(match_re.items()))
    )


class RouteSpec(Strict):
    """A route as written; settings it leaves out are inherited from its parent."""

    receiver: ReceiverRef | None = None
    matchers: list[MatcherText] = Field(default_factory=list)
    match: dict[LabelName, str] = Field(default_factory=dict)
    match_re: dict[LabelName, RegexText] = Field(default_factory=dict)
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[GroupLabel] | None = None
    group_wait: Duration | None = None
    group_interval: Interval | None = None
    repeat_interval: RepeatInterval | None = None
    mute_time_intervals: list[IntervalRef] | None = None
    active_time_intervals: list[IntervalRef] | None = None
    routes: list[RouteSpec] = Field(default_factory=list)

    def conditions(self) -> tuple[Matcher, ...]:
        """Every matcher the route writes, in whichever form."""
        return _conditions(self.matchers, self.match, self.match_re)

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if EVERY_LABEL in value and len(value) > 1:
            raise ValueError(f'"{EVERY_LABEL}" means every label, so it must stand alone')
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed twice")
        return value


class RootRouteSpec(RouteSpec):
    """The root route: every alert enters here, so it names a receiver and matches all."""

    receiver: ReceiverRef

    @field_validator(
        "matchers", "match", "match_re", "mute_time_intervals", "active_time_intervals"
    )
    @classmethod
    def _not_on_root(cls, value: Sized | None) -> Sized | None:
        if value:
            raise ValueError("not allowed on the root route, which every alert enters")
        return value

    @field_validator("continue_")
    @classmethod
    def _no_continue(cls, value: bool) -> bool:
        if value:
            raise ValueError("the root route has no siblings to continue to")
        return value


class InhibitSpec(Strict):
    source_matchers: list[MatcherText] = Field(default_factory=list)
    source_match: dict[LabelName, str] = Field(default_factory=dict)
    source_match_re: dict[LabelName, RegexText] = Field(default_factory=dict)
    target_matchers: list[MatcherText] = Field(default_factory=list)
    target_match: dict[LabelName, str] = Field(default_factory=dict)
    target_match_re: dict[LabelName, RegexText] = Field(default_factory=dict)
    equal: list[LabelName] = Field(default_factory=list)

    @model_validator(mode="after")
    def _both_sides(self) -> InhibitSpec:
        # A side without conditions would mute (or be muted by) every alert.
        for side in ("source", "target"):
            if not self.side(side):
                raise ValueError(
                    f"{side}_matchers: set at least one matcher "
                    f"({side}_matchers, {side}_match or {side}_match_re)"
                )
        return self

    def side(self, side: str) -> tuple[Matcher, ...]:
        return _conditions(
            getattr(self, f"{side}_matchers"),
            getattr(self, f"{side}_match"),
            getattr(self, f"{side}_match_re"),
        )


class TimeRangeSpec(Strict):
    start_time: Clock
    end_time: Clock

    def build(self) -> TimeRange:
        return parse_time_range(self.start_time, self.end_time)

    @field_validator("end_time")
    @classmethod
    def _ordered(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start_time")
        if isinstance(start, str):
            parse_time_range(start, end)
        return end


class TimeIntervalSpec(Strict):
    times: list[TimeRangeSpec] = Field(default_factory=list)
    weekdays: list[Annotated[Range, BeforeValidator(parse_weekdays)]] = Field(default_factory=list)
    days_of_month: list[Annotated[Range, BeforeValidator(parse_days_of_month)]] = Field(
        default_factory=list
    )
    months: list[Annotated[Range, BeforeValidator(parse_months)]] = Field(default_factory=list)
    years: list[Annotated[Range, BeforeValidator(parse_years)]] = Field(default_factory=list)
    location: Annotated[str, AfterValidator(_zone)] | None = None

    def build(self) -> TimeInterval:
        return TimeInterval(
            times=tuple(t.build() for t in self.times),
            weekdays=tuple(self.weekdays),
            days_of_month=tuple(self.days_of_month),
            months=tuple(self.months),
            years=tuple(self.years),
            location=parse_location(self.location) if self.location else None,
        )


class NamedTimeIntervals(Strict):
    name: Name
    time_intervals: list[TimeIntervalSpec] = Field(min_length=1)


class NotifyFile(Strict):
    """The whole file as written."""

    global_: GlobalSpec | None = Field(default=None, alias="global")
    receivers: list[ReceiverSpec] = Field(min_length=1)
    route: RootRouteSpec
    inhibit_rules: list[InhibitSpec] = Field(default_factory=list)
    time_intervals: list[NamedTimeIntervals] = Field(default_factory=list)
    send_resolved: bool = True
    reports: list[ReportScheduleSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class RoutedUnavailable:
    """A receiver a route names that cannot send (a secret unset), and where it is named."""

    name: str
    reason: str
    location: Location

    def __str__(self) -> str:
        return f"receiver {self.name} is reached by a route but cannot send: {self.reason}"


@dataclass(frozen=True)
class NotifyConfig:
    """Everything notification needs, checked and with secrets read.

    `receivers` holds the configured receivers only; `skipped` says why others are not.
    """

    route: Route
    receivers: Mapping[str, Receiver]
    skipped: tuple[SkippedReceiver, ...] = ()
    # The skipped receivers a route names: alerts meant for them are not delivered there.
    unavailable: tuple[RoutedUnavailable, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, tuple[TimeInterval, ...]] = field(default_factory=dict)
    # Scheduled performance reports, each to a receiver that can show one.
    reports: tuple[ReportSchedule, ...] = ()


def console_only() -> NotifyConfig:
    """The configuration used when there is no notification file: every alert to the console."""
    receiver = Receiver("console", True, ConsoleConfig())
    return NotifyConfig(Route(RouteMatch("route", "console")), {"console": receiver})


def notify_files(paths: Iterable[Path]) -> list[Path]:
    """Among rule files and folders, those holding notification settings, not rules."""
    found: list[Path] = []
    for path in rule_files(paths):
        try:
            document = yaml_source.read(path)
        except RuleError:
            continue  # the rules loader reports unreadable files
        if isinstance(document.data, dict) and set(document.data) & FOREIGN_KEYS:
            found.append(path)
    return found


def load_notify(
    path: Path, env: Mapping[str, str] | None = None
) -> tuple[NotifyConfig | None, list[RuleError]]:
    """Load one notification file; the config is None when anything is wrong."""
    try:
        document = yaml_source.read(path)
    except RuleError as exc:
        return None, [exc]
    return notify_from_document(document, env)


def notify_from_document(
    document: Document, env: Mapping[str, str] | None = None
) -> tuple[NotifyConfig | None, list[RuleError]]:
    """`load_notify` of a file already parsed (the rules loader hands it on)."""
    path = Path(document.file)
    errors: list[RuleError] = []
    data = document.data if isinstance(document.data, dict) else {}
    context = {
        "receivers": _names(document, data, "receivers", errors),
        "time_intervals": _names(document, data, "time_intervals", errors),
    }
    errors += _report_receivers(document, data)
    try:
        spec = NotifyFile.model_validate(document.data, context=context)
    except ValidationError as exc:
        return None, _in_order(errors + _placed(exc, document))
    config = _build(spec, document, os.environ if env is None else env, path.parent, errors)
    return (None, _in_order(errors)) if errors else (config, [])


def _placed(exc: ValidationError, document: Document) -> list[RuleError]:
    """pydantic's errors as RuleErrors, pointing inside a string when the error says where."""
    found = pydantic_errors(exc, document)
    for index, (raw, error) in enumerate(zip(exc.errors(), found, strict=True)):
        offset = (raw.get("ctx") or {}).get("offset")
        if isinstance(offset, int):
            path = tuple(part for part in raw["loc"] if isinstance(part, str | int))
            message = error.message
            if raw["type"] == "template":
                message = _naming_receiver(message, path, document)
            found[index] = RuleError(document.location(path, offset=offset), message)
    return found


def _naming_receiver(message: str, path: tuple[str | int, ...], document: Document) -> str:
    """`message` about a receiver's setting, saying which receiver by its name."""
    items = document.data.get("receivers") if isinstance(document.data, dict) else None
    if len(path) < 2 or path[0] != "receivers" or not isinstance(items, list):
        return message
    entry = items[path[1]] if isinstance(path[1], int) and path[1] < len(items) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    where, sep, reason = message.partition(": ")
    return f"{where}: receiver {name!r}: {reason}" if sep and isinstance(name, str) else message


def _in_order(errors: list[RuleError]) -> list[RuleError]:
    return sorted(errors, key=lambda e: (e.location.line, e.location.column))


def _names(
    document: Document, data: Mapping[str, Any], section: str, errors: list[RuleError]
) -> set[str]:
    """The names a section defines, read before validation so references can be checked."""
    names: set[str] = set()
    items = data.get(section)
    for index, item in enumerate(items if isinstance(items, list) else ()):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            path = (section, index, "name")
            errors.append(
                RuleError(document.location(path), f"{dotted(path)}: {name!r} is defined twice")
            )
        names.add(name)
    return names


def _build(
    spec: NotifyFile,
    document: Document,
    env: Mapping[str, str],
    base: Path,
    errors: list[RuleError],
) -> NotifyConfig:
    receivers: dict[str, Receiver] = {}
    skipped: list[SkippedReceiver] = []
    # Each receiver's name as routes write it, and the names its integrations are sent as.
    expansions: dict[str, tuple[str, ...]] = {}
    defaults = spec.global_ or GlobalSpec()
    for index, receiver_spec in enumerate(spec.receivers):
        written, invalid = integrations(receiver_spec, defaults)
        for place, message in invalid:
            where = ("receivers", index, *place)
            errors.append(RuleError(document.location(where), f"{dotted(where)}: {message}"))
        expansions[receiver_spec.name] = tuple(w.name for w in written)
        for integration in written:
            outcome = resolve(integration, env, base, spec.send_resolved)
            if isinstance(outcome, Receiver):
                receivers[outcome.name] = outcome
            elif isinstance(outcome, SkippedReceiver):
                skipped.append(outcome)
            else:
                for name, message in outcome:
                    where = ("receivers", index, *integration.place, name)
                    message = f"{dotted(where)}: {message}"
                    errors.append(RuleError(document.location(where), message))
    root = spec.route
    reasons = {s.name: str(s) for s in skipped}
    if all(name in reasons for name in expansions.get(root.receiver, ())):
        reason = "; ".join(reasons[name] for name in expansions[root.receiver])
        errors.append(
            RuleError(
                document.location(("route", "receiver")),
                f"route.receiver: the root route must end at a configured receiver, but {reason}",
            )
        )
    top = RouteMatch("route", root.receiver)
    named = _named_receivers(root, ("route",))
    return NotifyConfig(
        route=_route(root, top, "{}", Fanout(expansions, set(receivers))),
        receivers=receivers,
        skipped=tuple(skipped),
        unavailable=tuple(
            RoutedUnavailable(s.name, s.reason, document.location(named[receiver_of(s.name)]))
            for s in skipped
            if receiver_of(s.name) in named
        ),
        inhibit_rules=tuple(
            InhibitRule(r.side("source"), r.side("target"), tuple(r.equal))
            for r in spec.inhibit_rules
        ),
        time_intervals={
            named.name: tuple(i.build() for i in named.time_intervals)
            for named in spec.time_intervals
        },
        reports=tuple(r.build() for r in spec.reports),
    )


def _report_receivers(document: Document, data: Mapping[str, Any]) -> list[RuleError]:
    """Each scheduled report names a defined receiver that can show a report; read before
    validation, so these errors show beside any other in the file."""
    items = data.get("receivers")
    kinds: dict[str, str | None] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            others = [k for k in item if k not in ("name", "send_resolved")]
            kinds[item["name"]] = others[0] if others else None
    reports = data.get("reports")
    errors = []
    for index, report in enumerate(reports if isinstance(reports, list) else ()):
        name = report.get("receiver") if isinstance(report, dict) else None
        if not isinstance(name, str):
            continue  # validation says so
        where = ("reports", index, "receiver")
        if name not in kinds:
            listed = ", ".join(sorted(kinds)) or "none defined"
            message = f"unknown receiver {name!r} (defined: {listed})"
        elif kinds[name] not in REPORT_KINDS:
            message = (
                f"receiver {name!r} cannot show a report "
                f"(a {kinds[name] or 'null'} receiver); use a slack, teams or console one"
            )
        else:
            continue
        errors.append(RuleError(document.location(where), f"{dotted(where)}: {message}"))
    return errors


def _child_ids(parent_id: str, children: Sequence[RouteSpec]) -> list[str]:
    """Each sub-route's identity: its parent's, then its matchers, as Alertmanager keys it.

    Group keys and PagerDuty dedup keys derive from it, so it must not depend on a route's
    place in the file: reordering routes would otherwise re-page every firing alert under
    a new key and leave its old incident open. Siblings with the same matchers are told
    apart by a count among themselves alone.
    """
    ids = []
    seen: dict[str, int] = {}
    for child in children:
        own = "{" + ",".join(sorted(str(m) for m in child.conditions())) + "}"
        count = seen[own] = seen.get(own, 0) + 1
        ids.append(f"{parent_id}/{own}" + (f"#{count}" if count > 1 else ""))
    return ids


@dataclass(frozen=True)
class Fanout:
    """Which integrations a route naming a receiver sends to: those that can send."""

    expansions: Mapping[str, tuple[str, ...]]
    usable: set[str]

    def of(self, receiver: str) -> tuple[str, ...]:
        return tuple(n for n in self.expansions.get(receiver, (receiver,)) if n in self.usable)


def _route(spec: RouteSpec, parent: RouteMatch, route_id: str, fanout: Fanout) -> Route:
    settings = inherit(
        parent,
        route_id,
        receiver=spec.receiver,
        group_by=spec.group_by,
        group_wait=spec.group_wait,
        group_interval=spec.group_interval,
        repeat_interval=spec.repeat_interval,
        mute_time_intervals=spec.mute_time_intervals,
        active_time_intervals=spec.active_time_intervals,
    )
    children = tuple(
        _route(child, settings, child_id, fanout)
        for child, child_id in zip(spec.routes, _child_ids(route_id, spec.routes), strict=True)
    )
    # A receiver with several integrations sends to each; the first keeps the route's
    # identity (and so its group keys), the others are told apart by their names.
    sends = fanout.of(settings.receiver)
    first, *others = sends or (settings.receiver,)
    return Route(
        replace(settings, receiver=first),
        matchers=spec.conditions(),
        continue_=spec.continue_,
        routes=children,
        delivers=bool(sends),
        also=tuple(replace(settings, receiver=n, route_id=f"{route_id}|{n}") for n in others),
    )


def _named_receivers(
    spec: RouteSpec, path: tuple[str | int, ...]
) -> dict[str, tuple[str | int, ...]]:
    """Every receiver a route names, with the path where it is first named."""
    named: dict[str, tuple[str | int, ...]] = {}
    if spec.receiver is not None:
        named[spec.receiver] = (*path, "receiver")
    for index, child in enumerate(spec.routes):
        for name, where in _named_receivers(child, (*path, "routes", index)).items():
            named.setdefault(name, where)
    return named


def _parse(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(matcher for text in texts for matcher in parse_matchers(text))
