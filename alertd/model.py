"""Values that cross package boundaries: queries going to a source and rows coming back."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

Cell = str | int | float | dt.datetime


@dataclass(frozen=True)
class Query:
    """One SQL statement for one source, with the rules whose numbers it carries."""

    sql: str
    dataset: str
    rules: tuple[str, ...]
    # The aliases the statement selects, which every answer must carry: label columns (any
    # value) and measure columns (numbers). Empty for SQL nobody planned, e.g. a test's.
    labels: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    # The alias of the newest row's timestamp, when the statement scans up to now to tell
    # how late the dataset's rows land.
    newest: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Rows:
    """A query's answer: typed columns and one mapping per row, numbers already numbers."""

    columns: tuple[Column, ...]
    data: tuple[Mapping[str, Cell], ...]


# alertd's always-firing alert (ALERTD_WATCHDOG): named here, as the engine raises it and
# notifications describe it.
WATCHDOG_ALERT = "AlertdWatchdog"
# alertd's alert for a dataset whose rows land later than the longest evaluation delay.
LAGGING_ALERT = "AlertdSourceLagging"


class Severity(enum.Enum):
    """How bad a firing alert is; ordered, so an escalation compares greater."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}


Labels = tuple[tuple[str, str], ...]


class Status(enum.Enum):
    """Where one alert (a rule and one series) stands in its lifecycle."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True)
class AlertState:
    """Everything needed to resume one alert's lifecycle exactly after a restart.

    `active_since` starts the `for` clock; `last_breach` is the last tick the condition
    held, which `keep_firing_for` counts from; `last_seen` the last tick with data.
    `evidence` is what the sampled rows said when the alert fired or last changed
    severity, for a rule with `confidence` (a resolved alert's state leaves the store).
    A store writes a state only when it changes beyond its times (`store.base.unchanged`):
    read back, `value` and `samples` are those of that change.
    """

    fingerprint: str
    rule: str
    labels: Labels
    status: Status
    severity: Severity | None = None
    active_since: dt.datetime | None = None
    firing_since: dt.datetime | None = None
    last_breach: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    last_eval: dt.datetime | None = None
    value: float | None = None
    samples: int = 0
    evidence: str | None = None


class Change(enum.Enum):
    """What a transition did; on-call engineers see these words."""

    PENDING = "pending"  # inactive -> pending
    FIRING = "firing"  # pending or inactive -> firing
    ESCALATED = "escalated"  # firing, severity went up
    DEESCALATED = "deescalated"  # firing, severity went down
    RESOLVED = "resolved"  # firing -> inactive
    CANCELLED = "cancelled"  # pending -> inactive before `for` elapsed


@dataclass(frozen=True)
class Transition:
    """One change of one alert at one evaluation time."""

    at: dt.datetime
    fingerprint: str
    rule: str
    labels: Labels
    change: Change
    previous: Status
    status: Status
    severity: Severity | None
    previous_severity: Severity | None
    value: float | None
    threshold: str | None = None
    reason: str = ""
    unit: str | None = None  # the rule's `unit:`, for showing `value`


@dataclass(frozen=True)
class SeriesPoint:
    """One evaluated value of one series, kept as a short history for charts."""

    fingerprint: str
    at: dt.datetime
    value: float | None
    samples: int


def fingerprint(rule: str, labels: Labels) -> str:
    """An alert's identity: its rule name and full label set, stable across restarts and
    versions because it hashes a canonical JSON text, never Python's own hash()."""
    canonical = json.dumps([rule, sorted(labels)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertSnapshot:
    """One alert as a notification shows it: rendered annotations, times, value."""

    fingerprint: str
    rule: str
    labels: Labels
    firing: bool
    severity: Severity | None
    value: float | None
    threshold: str | None
    annotations: Mapping[str, str]
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    unit: str | None = None  # the rule's `unit:`, for showing `value`
    # Resolved: `value` is the value at resolution, `last_value` the last one while firing.
    last_value: float | None = None
    # Why a firing alert's value may look clear: held by `recover` or `keep_firing_for`,
    # or no data; for a resolve, why it resolved when that is not simply "clear".
    note: str = ""
    # (title, http(s) URL) pairs: the runbook, dashboards, any annotation named a link.
    links: tuple[tuple[str, str], ...] = ()
    # What the sampled rows said when the alert fired (or resolved), in words; "" for a
    # rule without `confidence`.
    evidence: str = ""


@dataclass(frozen=True)
class Notification:
    """One message for one receiver about one group of alerts.

    `group_key` is the group's stable identity (PagerDuty's dedup_key derives from it);
    `id` is unique per notification, so a receiver's retries can be recognised.
    """

    id: str
    receiver: str
    group_key: str
    group_labels: Labels
    firing: bool
    alerts: tuple[AlertSnapshot, ...]
    created_at: dt.datetime
    status_url: str | None = None
    test: bool = False


@dataclass(frozen=True)
class GroupState:
    """One aggregation group of one receiver: when it started and what it last said.

    `notified` holds the alerts the last notification showed firing; comparing it with the
    alerts firing now is how a change, a repeat or a resolve is recognised, across restarts.
    """

    key: str
    receiver: str
    group_labels: Labels
    first_seen: dt.datetime
    last_flush: dt.datetime | None = None
    notified: tuple[AlertSnapshot, ...] = ()


class Delivery(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused for good (a 4xx other than 429)
    EXPIRED = "expired"  # kept failing until it was too old to matter
    SUPERSEDED = "superseded"  # a newer notification of its group made it stale unsent


@dataclass(frozen=True)
class OutboxEntry:
    """A notification waiting for, or done with, delivery to its receiver."""

    notification: Notification
    expires_at: dt.datetime
    next_attempt_at: dt.datetime
    status: Delivery = Delivery.PENDING
    attempts: int = 0
    last_error: str | None = None
    finished_at: dt.datetime | None = None
    ref: str | None = None  # what the receiver answered, e.g. a Slack message ts

    @property
    def id(self) -> str:
        return self.notification.id


@dataclass(frozen=True)
class SilenceRecord:
    """A silence as stored: matchers in their text form (`team="db"`)."""

    id: str
    matchers: tuple[str, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str


@dataclass(frozen=True)
class NotifyChanges:
    """What a notification step adds to a commit: groups to keep or drop, new outbox entries."""

    groups: tuple[GroupState, ...] = ()
    dropped_groups: tuple[str, ...] = ()
    outbox: tuple[OutboxEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups or self.dropped_groups or self.outbox)
