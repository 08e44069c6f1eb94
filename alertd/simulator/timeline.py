"""Timelines: which incidents the simulated traffic goes through, and when.

A timeline is YAML; offsets count from the simulation's start (its origin):

    duration: 30m
    incidents:
      - {kind: slow_table, table: users, from: 2m, to: 12m, peak_p95_ms: 320}
      - {kind: error_burst, endpoint: /api/pitches, from: 9m, to: 15m, share: 20%}

Each incident ramps in linearly over `ramp` (default: a third of its length), holds its
peak, and ramps out over `ramp` before `to`, so alerts see a rise and a recovery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from alertd.errors import AlertdError, Location, RuleError
from alertd.rules import yaml_source
from alertd.rules.durations import format_duration, parse_duration

TableName = Literal["pitches", "users", "messages", "ndas", "follows"]
EndpointPath = Literal[
    "/api/pitches", "/api/pitches/:id", "/api/users/me", "/api/search", "/api/ndas",
    "/api/messages",
]  # fmt: skip
ScriptName = Literal["pitchey-api", "pitchey-analytics"]  # the Workers invocations name
CachedEndpoint = Literal["/api/pitches", "/api/pitches/:id"]  # the endpoints a cache serves
DEMO_RESOURCE = "demo_timeline.yaml"


def _share(value: object) -> object:
    """`12%` or `12 %` as 0.12; numbers pass through for pydantic to check."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip().removesuffix("%")) / 100
        except ValueError:
            raise ValueError(f"expected a share such as 0.12 or 12%, got {value!r}") from None
    return value


Offset = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Share = Annotated[float, BeforeValidator(_share), Field(gt=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Incident(_Strict):
    start: Offset = Field(alias="from")
    end: Offset = Field(alias="to")
    ramp: Offset | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Incident:
        if self.end <= self.start:
            raise ValueError(
                f"`to` ({format_duration(self.end)}) must come after "
                f"`from` ({format_duration(self.start)})"
            )
        if self.ramp is not None and 2 * self.ramp > self.end - self.start:
            raise ValueError("`ramp` can be at most half the time from `from` to `to`")
        return self

    def intensity(self, offset: dt.timedelta) -> float:
        """How far in the incident is at `offset`: 0 outside, 1 at its peak, linear between."""
        if not self.start <= offset < self.end:
            return 0.0
        ramp = (self.ramp if self.ramp is not None else (self.end - self.start) / 3).total_seconds()
        if ramp == 0:
            return 1.0
        rise = (offset - self.start).total_seconds() / ramp
        fall = (self.end - offset).total_seconds() / ramp
        return min(1.0, rise, fall)


class SlowTable(_Incident):
    """Queries on `table` slow down until their P95 reaches `peak_p95_ms`."""

    kind: Literal["slow_table"]
    table: TableName
    peak_p95_ms: float = Field(gt=0)


class SlowEndpoint(_Incident):
    """Uncached responses of `endpoint` slow down until their P95 reaches `peak_p95_ms`."""

    kind: Literal["slow_endpoint"]
    endpoint: EndpointPath
    peak_p95_ms: float = Field(gt=0)


class ErrorBurst(_Incident):
    """Up to `share` of the requests to `endpoint` fail with `status`, and are reported."""

    kind: Literal["error_burst"]
    endpoint: EndpointPath
    share: Share
    status: int = Field(default=503, ge=500, le=599)


class CacheDrop(_Incident):
    """The cache hit rate of `endpoint` (default: every cached endpoint) falls to `hit_rate`."""

    kind: Literal["cache_drop"]
    hit_rate: float = Field(ge=0, le=1)
    endpoint: CachedEndpoint | None = None


class ConnectionErrors(_Incident):
    """`source` reports up to `per_minute` database connection errors a minute."""

    kind: Literal["connection_errors"]
    per_minute: float = Field(gt=0)
    source: str = Field(default="neon-pool", min_length=1, max_length=64)


class FailedQueries(_Incident):
    """Up to `share` of the queries on `table` end with status "error" and `error_code`."""

    kind: Literal["failed_queries"]
    table: TableName
    share: Share
    error_code: str = Field(default="57014", min_length=1, max_length=16)


class CpuSpike(_Incident):
    """The P99 CPU time of the Worker `script`'s invocations rises to `peak_p99_ms`."""

    kind: Literal["cpu_spike"]
    script: ScriptName
    peak_p99_ms: float = Field(gt=0)


class PoolSaturation(_Incident):
    """The connection pool of `database` fills up to `peak_utilization` (a share)."""

    kind: Literal["pool_saturation"]
    database: str = Field(default="neon-primary", min_length=1, max_length=64)
    peak_utilization: Share


Incident = Annotated[
    SlowTable
    | SlowEndpoint
    | ErrorBurst
    | CacheDrop
    | ConnectionErrors
    | FailedQueries
    | CpuSpike
    | PoolSaturation,
    Field(discriminator="kind"),
]
KINDS = ("slow_table", "slow_endpoint", "error_burst", "cache_drop", "connection_errors",
         "failed_queries", "cpu_spike", "pool_saturation")  # fmt: skip


class Timeline(_Strict):
    """The incidents of one simulation; `duration` defaults to 10 minutes past the last."""

    duration: Offset | None = None
    incidents: list[Incident] = Field(default_factory=list)

    @model_validator(mode="after")
    def _inside(self) -> Timeline:
        if self.duration is not None:
            for incident in self.incidents:
                if incident.end > self.duration:
                    raise ValueError(
                        f"an incident ends at {format_duration(incident.end)}, after the "
                        f"timeline's duration {format_duration(self.duration)}"
                    )
        return self

    @property
    def length(self) -> dt.timedelta:
        """How long the simulation runs: `duration`, or until all incidents have recovered."""
        if self.duration is not None:
            return self.duration
        return max((i.end for i in self.incidents), default=dt.timedelta(0)) + dt.timedelta(
            minutes=10
        )


class TimelineError(AlertdError):
    """A timeline file is invalid; each message names the file, line and field."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


def parse_timeline(text: str, file: str = "<timeline>") -> Timeline:
    """Validate a timeline's YAML text; raise TimelineError naming every problem."""
    try:
        document = yaml_source.load(file, text)
    except RuleError as exc:
        raise TimelineError([str(exc)]) from None
    try:
        return Timeline.model_validate(document.data if document.data is not None else {})
    except ValidationError as exc:
        raise TimelineError(_messages(exc, document)) from None


def load_timeline(path: Path) -> Timeline:
    """Read and validate a timeline file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TimelineError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_timeline(text, str(path))


def demo_timeline() -> Timeline:
    """The timeline `alertd demo` plays: every shipped rule fires once and recovers."""
    resource = resources.files("alertd.simulator").joinpath(DEMO_RESOURCE)
    return parse_timeline(resource.read_text(encoding="utf-8"), DEMO_RESOURCE)


def _messages(exc: ValidationError, document: yaml_source.Document) -> list[str]:
    found: list[tuple[Location, str]] = []
    for error in exc.errors():
        # A discriminated union puts the incident's kind in the path; authors never wrote it.
        path = tuple(p for p in error["loc"] if isinstance(p, int) or p not in KINDS)
        reason = _reason(error)
        if error["type"] == "extra_forbidden":
            location = document.location(path, key=True)
            reason = f"unknown key {path[-1]!r}"
        elif error["type"] == "missing":
            location = document.location(path[:-1])
            reason = f"required key {path[-1]!r} is missing"
        else:
            location = document.location(path)
        found.append((location, f"{yaml_source.dotted(path)}: {reason}"))
    found.sort(key=lambda item: (item[0].line, item[0].column))
    return [f"{location}: {message}" for location, message in found]


def _reason(error: Any) -> str:
    if error["type"] == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"unknown incident kind {tag!r}; expected one of " + ", ".join(KINDS)
    if error["type"] == "union_tag_not_found":
        return "required key 'kind' is missing; expected one of " + ", ".join(KINDS)
    return str(error["msg"]).removeprefix("Value error, ")
