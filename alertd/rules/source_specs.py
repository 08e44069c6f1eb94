"""Declared sources besides Analytics Engine: what a rule's `source:` may name.

A file with a top-level `sources:` key declares them. Each source gives rules a dataset of
its own name, whose fields are the labels and values the source fetches, so rules on it
use the same expression language as rules on AE datasets.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from alertd.rules.ast import FieldKind, FieldRef
from alertd.rules.durations import parse_duration
from alertd.rules.files import Name, _Strict
from alertd.rules.schema import Dataset

Seconds = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
# An http(s) URL, or one built from `${NAME}` references, checked once they are filled in.
HttpUrl = Annotated[str, StringConstraints(pattern=r"^(https?://|\$\{)\S+$", max_length=2000)]
ScriptName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$", max_length=128)]

# What `workersInvocationsAdaptive` gives per (scriptName, status); CPU times in ms.
WORKERS_LABELS = ("scriptName", "status")
WORKERS_VALUES = ("requests", "errors", "cpuTimeP50", "cpuTimeP99", "cpuLimitMs")


class ScriptSpec(_Strict):
    """One Worker script to watch, and its CPU time limit per invocation."""

    cpu_ms: float = Field(gt=0)


class WorkersGraphqlSpec(_Strict):
    """Workers invocations from Cloudflare's GraphQL Analytics API."""

    type: Literal["workers_graphql"]
    # The API's documented budget: 300 queries in any 5 minutes.
    max_queries: int = Field(default=300, ge=1)
    per: Seconds = dt.timedelta(minutes=5)
    scripts: dict[ScriptName, ScriptSpec] = Field(min_length=1)


class HttpJsonSpec(_Strict):
    """A JSON endpoint polled each tick; JMESPath expressions pick records, labels, values."""

    type: Literal["http_json"]
    url: HttpUrl
    method: Literal["GET", "POST"] = "GET"
    # `${NAME}` in a value is replaced by the environment variable NAME (a secret).
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Seconds = dt.timedelta(seconds=10)
    # Turns the answer into a list of records; `@` takes the whole answer as one record.
    records: str = "@"
    labels: dict[Name, str] = Field(default_factory=dict)
    values: dict[Name, str] = Field(min_length=1)


SourceSpec = WorkersGraphqlSpec | HttpJsonSpec


SOURCE_TYPES: dict[str, type[WorkersGraphqlSpec] | type[HttpJsonSpec]] = {
    "workers_graphql": WorkersGraphqlSpec,
    "http_json": HttpJsonSpec,
}
SOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def source_dataset(name: str, spec: WorkersGraphqlSpec | HttpJsonSpec) -> Dataset:
    """The dataset rules see: labels are text fields, values number fields."""
    labels: tuple[str, ...]
    values: tuple[str, ...]
    if isinstance(spec, WorkersGraphqlSpec):
        labels, values = WORKERS_LABELS, WORKERS_VALUES
    else:
        labels, values = tuple(spec.labels), tuple(spec.values)
    fields = {label: FieldRef(label, label, FieldKind.STRING) for label in labels}
    fields.update({value: FieldRef(value, value, FieldKind.NUMBER) for value in values})
    return Dataset(name, fields)
