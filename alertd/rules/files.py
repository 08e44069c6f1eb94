"""The YAML contract of rule files, as pydantic models (shape and scalar checks only).

Expressions and templates are checked afterwards by the loader, which knows the datasets.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from alertd.rules.durations import duration_at_most, parse_duration
from alertd.rules.thresholds import Threshold, parse_threshold
from alertd.rules.units import parse_unit

# AE keeps three months of data: no window, and no wait measured in evaluations, is longer.
RETENTION = dt.timedelta(days=90)
# A group evaluated less often than daily would page a day late; a longer interval is a typo.
LONGEST_INTERVAL = dt.timedelta(days=1)

Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Wait = Annotated[dt.timedelta, BeforeValidator(duration_at_most(RETENTION))]
Interval = Annotated[dt.timedelta, BeforeValidator(duration_at_most(LONGEST_INTERVAL))]
ThresholdText = Annotated[Threshold, BeforeValidator(parse_threshold)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
UnitText = Annotated[str, BeforeValidator(parse_unit)]


def parse_confidence(value: object) -> float | None:
    """`confidence: 0.95` or `off` (YAML may read a bare off as false)."""
    if value is False or value is None or (isinstance(value, str) and value.strip() == "off"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a confidence such as 0.95, or off; got {value!r}")
    if not 0.5 <= value < 1:
        raise ValueError(f"confidence {value} must be at least 0.5 and below 1, e.g. 0.95")
    return float(value)


Confidence = Annotated[float | None, BeforeValidator(parse_confidence)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatasetSpec(_Strict):
    index: Name | None = None
    blobs: list[Name] = Field(default_factory=list, max_length=20)
    doubles: list[Name] = Field(default_factory=list, max_length=20)
    numeric_blobs: list[Name] = Field(default_factory=list)


class DatasetsFile(_Strict):
    datasets: dict[Name, DatasetSpec]


class QuerySpec(_Strict):
    """One named query of a rule that combines datasets."""

    dataset: Name
    value: str
    where: str | None = None


class ThresholdsSpec(_Strict):
    warning: ThresholdText | None = None
    critical: ThresholdText | None = None


class RuleSpec(_Strict):
    alert: Name
    dataset: Name | None = None
    # A declared source (a `sources:` file) instead of an AE dataset.
    source: Name | None = None
    value: str
    where: str | None = None
    queries: dict[Name, QuerySpec] | None = None
    by: list[Name] = Field(default_factory=list)
    window: Duration = dt.timedelta(minutes=5)
    min_samples: int = Field(default=1, ge=0)
    thresholds: ThresholdsSpec
    recover: ThresholdText | None = None
    unit: UnitText | None = None
    for_: Wait = Field(default=dt.timedelta(0), alias="for")
    keep_firing_for: Wait = dt.timedelta(0)
    no_data: Literal["keep", "ok", "alert"] = "keep"
    confidence: Confidence = None
    labels: dict[LabelName, str] = Field(default_factory=dict)
    annotations: dict[LabelName, str] = Field(default_factory=dict)
    # Annotations whose rendered value, an http(s) URL, every receiver shows as a link.
    links: list[LabelName] = Field(default_factory=list)


class GroupFile(_Strict):
    """A group's header; each rule is validated on its own, so one bad rule hides no other."""

    group: Name
    interval: Interval = dt.timedelta(seconds=30)
    labels: dict[LabelName, str] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(min_length=1)
