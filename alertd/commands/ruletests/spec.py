"""The shape of a rule test file, read with every problem named by file, line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alertd.errors import RuleError
from alertd.rules import yaml_source
from alertd.rules.durations import parse_duration

from .series import expand

Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Values = Annotated[list[float | None], BeforeValidator(expand)]
DEFAULT_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Series(_Strict):
    """Points written into one dataset, one per step: blobs fixed, doubles over time."""

    dataset: str
    every: Duration = dt.timedelta(minutes=1)
    sample_interval: int = Field(default=1, ge=1)
    blobs: dict[str, str] = Field(default_factory=dict)
    values: dict[str, Values] = Field(default_factory=dict)
    # How many points each step writes (AE rows; each stands for `sample_interval` events).
    rows: int = Field(default=1, ge=1, le=10_000)


class ExpectedAlert(_Strict):
    alert: str
    state: Literal["pending", "firing"] = "firing"
    severity: Literal["warning", "critical"] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] | None = None


class Evaluation(_Strict):
    """The alerts that are pending or firing `at` after the start: exactly these."""

    at: Duration
    alerts: list[ExpectedAlert] = Field(default_factory=list)


class ExpectedNotification(_Strict):
    receiver: str
    kind: Literal["firing", "resolved"]
    at: Duration | None = None
    group: dict[str, str] | None = None
    alerts: int | None = Field(default=None, ge=0)


class Case(_Strict):
    name: str
    input: list[Series] = Field(default_factory=list)
    eval: list[Evaluation] = Field(default_factory=list)
    # Every notification the pipeline queues, in order; omitted: not checked.
    notifications: list[ExpectedNotification] | None = None
    # Evaluations and notifications run until this long after the start (default: the
    # last `at` named).
    until: Duration | None = None


class TestFile(_Strict):
    rule_files: list[str] = Field(min_length=1)
    start: dt.datetime = DEFAULT_START
    tests: list[Case] = Field(min_length=1)


def read(path: Path) -> tuple[TestFile, list[Path]]:
    """The test file at `path` and its rule files (relative to it); RuleError if invalid."""
    document = yaml_source.read(path)
    try:
        spec = TestFile.model_validate(document.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = tuple(first["loc"])
        raise RuleError(
            # A key that does not belong is pointed at by its name, any other by its value.
            document.location(where, key=first["type"] == "extra_forbidden"),
            f"{yaml_source.dotted(where)}: {first['msg'].removeprefix('Value error, ')}",
        ) from None
    if spec.start.tzinfo is None:
        spec = spec.model_copy(update={"start": spec.start.replace(tzinfo=dt.UTC)})
    return spec, [path.parent / name for name in spec.rule_files]
