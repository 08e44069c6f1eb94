"""The platform's analytics reports: which questions each one asks, and how it reads them.

Datasets and fields are those of the platform's design document (`rules/datasets.yaml`).
Counts are events (rows weighted by `_sample_interval`), durations milliseconds, rates
ratios between 0 and 1. A value that cannot be computed (no rows) is None (JSON null).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from alertd.model import Labels
from alertd.reports.questions import (
    CACHE_HIT,
    DATABASE,
    ERRORS,
    PERFORMANCE,
    Answer,
    Asker,
    Question,
    total,
)

# A query slower than this is slow (the design document's slow-query search uses 100 ms).
SLOW_QUERY_MS = 100
TOP = 10

Report = dict[str, Any]
ReportFunction = Callable[[Asker, dt.timedelta, dt.datetime], Awaitable[Report]]


def _count(value: float | None) -> int:
    return 0 if value is None else round(value)


def _rows(
    answers: Mapping[str, Answer], fields: Mapping[str, str], counts: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One row per label set found in any answer: the labels, then each field's value."""
    label_sets: dict[Labels, None] = {}
    for name in fields.values():
        label_sets.update(dict.fromkeys(answers[name]))
    rows = []
    for labels in label_sets:
        row: dict[str, Any] = dict(labels)
        for out, name in fields.items():
            value = answers[name].get(labels)
            row[out] = _count(value) if out in counts else value
        rows.append(row)
    return rows


def _ranked(rows: list[dict[str, Any]], key: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows by `key`, largest first (rows without a value last), then by their labels."""
    ordered = sorted(
        rows, key=lambda r: (r[key] is None, -(r[key] or 0.0), sorted(map(str, r.items())))
    )
    return ordered if limit is None else ordered[:limit]


def _per_second(count: float | None, window: dt.timedelta) -> float | None:
    return None if count is None else count / window.total_seconds()


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def _renamed(rows: list[dict[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{names.get(k, k): v for k, v in row.items()} for row in rows]


_LABEL_NAMES = {"queryType": "query_type", "table": "table", "type": "type", "source": "source"}


async def database_performance(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    a = await asker.ask(
        [
            Question("queries", DATABASE, "count()"),
            Question("avg", DATABASE, "avg(duration)"),
            Question("p95", DATABASE, "p95(duration)"),
            Question("slow", DATABASE, f"count(duration > {SLOW_QUERY_MS})"),
            Question("success", DATABASE, 'ratio(status == "success")'),
        ],
        window,
        at,
    )
    return {
        "queries": _count(total(a["queries"])),
        "avg_query_ms": total(a["avg"]),
        "p95_query_ms": total(a["p95"]),
        "slow_queries": _count(total(a["slow"])),
        "slow_query_ms": SLOW_QUERY_MS,
        "success_rate": total(a["success"]),
    }


async def database_queries(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    groupings = {"by_query_type": ("queryType",), "by_table": ("table",)}
    questions = []
    for key, by in groupings.items():
        questions += [
            Question(f"{key}.queries", DATABASE, "count()", by),
            Question(f"{key}.avg", DATABASE, "avg(duration)", by),
            Question(f"{key}.p95", DATABASE, "p95(duration)", by),
            Question(f"{key}.success", DATABASE, 'ratio(status == "success")', by),
        ]
    pairs = ("queryType", "table")
    questions += [
        Question("pairs.queries", DATABASE, "count()", pairs),
        Question("pairs.avg", DATABASE, "avg(duration)", pairs),
    ]
    a = await asker.ask(questions, window, at)
    report: Report = {}
    for key in groupings:
        fields = {
            "queries": f"{key}.queries",
            "avg_query_ms": f"{key}.avg",
            "p95_query_ms": f"{key}.p95",
            "success_rate": f"{key}.success",
        }
        report[key] = _ranked(_renamed(_rows(a, fields, ["queries"]), _LABEL_NAMES), "queries")
    fields = {"queries": "pairs.queries", "avg_query_ms": "pairs.avg"}
    rows = _renamed(_rows(a, fields, ["queries"]), _LABEL_NAMES)
    report["by_query_type_and_table"] = _ranked(rows, "queries")
    return report


async def database_health(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    a = await asker.ask(
        [
            Question("queries", DATABASE, "count()"),
            Question("errors", DATABASE, 'count(status == "error")'),
            Question("error_rate", DATABASE, 'ratio(status == "error")'),
            Question("success", DATABASE, 'ratio(status == "success")'),
        ],
        window,
        at,
    )
    queries = total(a["queries"])
    error_rate = total(a["error_rate"])
    return {
        "queries": _count(queries),
        "throughput_per_second": _per_second(queries, window),
        "errors": _count(total(a["errors"])),
        "error_rate": error_rate,
        "availability": total(a["success"]),
        "status": _health_status(error_rate),
    }


def _health_status(error_rate: float | None) -> str:
    """`healthy` up to the platform's failed-query limit (1 %), `degraded` to 5 %, then
    `unhealthy`; `no data` when nothing was queried."""
    if error_rate is None:
        return "no data"
    if error_rate <= 0.01:
        return "healthy"
    return "degraded" if error_rate <= 0.05 else "unhealthy"


async def database_slow_queries(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    slow = f"count(duration > {SLOW_QUERY_MS})"
    groupings = {"tables": ("table",), "query_types": ("queryType",)}
    questions = [Question("slow", DATABASE, slow)]
    for key, by in groupings.items():
        questions += [
            Question(f"{key}.queries", DATABASE, "count()", by),
            Question(f"{key}.slow", DATABASE, slow, by),
            Question(f"{key}.avg", DATABASE, "avg(duration)", by),
            Question(f"{key}.p95", DATABASE, "p95(duration)", by),
            Question(f"{key}.max", DATABASE, "max(duration)", by),
        ]
    a = await asker.ask(questions, window, at)
    report: Report = {"slow_query_ms": SLOW_QUERY_MS, "slow_queries": _count(total(a["slow"]))}
    for key in groupings:
        fields = {
            "queries": f"{key}.queries",
            "slow_queries": f"{key}.slow",
            "avg_query_ms": f"{key}.avg",
            "p95_query_ms": f"{key}.p95",
            "max_query_ms": f"{key}.max",
        }
        rows = _rows(a, fields, ["queries", "slow_queries"])
        report[f"slowest_{key}"] = _ranked(_renamed(rows, _LABEL_NAMES), "p95_query_ms", TOP)
    return report


async def database_errors(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    a = await asker.ask(
        [
            Question("requests", PERFORMANCE, "count()"),
            Question("errors", ERRORS, "sum(errorCount)"),
            Question("by_type", ERRORS, "sum(errorCount)", ("type",)),
            Question("by_source", ERRORS, "sum(errorCount)", ("source",)),
            Question("queries", DATABASE, "count()"),
            Question("failed", DATABASE, 'count(status == "error")', ("errorCode",)),
        ],
        window,
        at,
    )
    requests, errors = total(a["requests"]), total(a["errors"])
    queries = total(a["queries"])
    report: Report = {
        "requests": _count(requests),
        "errors": _count(errors),
        "error_rate": _share(errors, requests),
    }
    for key in ("by_type", "by_source"):
        rows = [
            {
                **dict(labels),
                "errors": _count(value),
                "rate": _share(value, requests),
                "share": _share(value, errors),
            }
            for labels, value in a[key].items()
        ]
        report[key] = _ranked(rows, "errors")
    failed = [
        {"error_code": dict(labels)["errorCode"], "queries": _count(value)}
        for labels, value in a["failed"].items()
        if value
    ]
    report["database"] = {
        "queries": _count(queries),
        "failed_queries": sum(row["queries"] for row in failed),
        "by_error_code": [
            {**row, "rate": _share(row["queries"], queries)} for row in _ranked(failed, "queries")
        ],
    }
    return report


async def performance_endpoints(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    by = ("endpoint",)
    a = await asker.ask(
        [
            Question("requests", PERFORMANCE, "count()", by),
            Question("avg", PERFORMANCE, "avg(duration)", by),
            Question("p95", PERFORMANCE, "p95(duration)", by),
            Question("cache", PERFORMANCE, CACHE_HIT, by),
            Question("errors", PERFORMANCE, "ratio(statusCode >= 500)", by),
        ],
        window,
        at,
    )
    fields = {
        "requests": "requests",
        "avg_response_ms": "avg",
        "p95_response_ms": "p95",
        "cache_hit_rate": "cache",
        "error_rate_5xx": "errors",
    }
    rows = _rows(a, fields, ["requests"])
    for row in rows:
        row["requests_per_second"] = row["requests"] / window.total_seconds()
    return {"endpoints": _ranked(rows, "requests")}
