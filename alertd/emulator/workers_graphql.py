"""The emulator's GraphQL Analytics API: `workersInvocationsAdaptive`, from stored invocations.

Invocations are points of the dataset `workers_invocations` (blob1 scriptName, blob2
status, double1 CPU time in microseconds), written through the emulator's write hook as
the simulator does. Only the query shape alertd sends is answered; anything else gets a
GraphQL `errors` array on HTTP 200, as the real API answers a query it cannot run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from alertd.emulator.storage import ChdbStorage, QueryError

INVOCATIONS = "workers_invocations"
GRAPHQL_PATH = "/client/v4/graphql"
# The parts of the query that decide its answer; every one must be present.
_REQUIRED = (
    re.compile(r"^\s*query\s+\w*\s*\("),
    re.compile(r"accounts\s*\(\s*filter\s*:\s*\{\s*accountTag\s*:\s*\$accountTag\s*\}\s*\)"),
    re.compile(r"workersInvocationsAdaptive\s*\(\s*limit\s*:\s*(\d+)\s*,\s*filter\s*:\s*\{"),
    re.compile(r"scriptName_in\s*:\s*\$scripts"),
    re.compile(r"datetime_geq\s*:\s*\$since"),
    re.compile(r"datetime_lt\s*:\s*\$until"),
    re.compile(r"dimensions\s*\{\s*scriptName\s+status\s*\}"),
    re.compile(r"sum\s*\{\s*requests\s+errors\s*\}"),
    re.compile(r"quantiles\s*\{\s*cpuTimeP50\s+cpuTimeP99\s*\}"),
)
_SCRIPT = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# Statuses a Worker invocation ends with that count as errors.
_ERROR_STATUSES = ("exceededResources", "internalError", "scriptThrewException", "exceededCpu")


class GraphqlError(Exception):
    """A query the emulated API cannot answer; shown in the `errors` array."""


def answer(storage: ChdbStorage, document: Any, account_id: str | None) -> dict[str, Any]:
    """The GraphQL answer to one request body (already parsed JSON)."""
    try:
        query, variables = _request(document)
        limit = _check_shape(query)
        groups = _groups(storage, variables, limit, account_id)
    except GraphqlError as error:
        return {"data": None, "errors": [{"message": str(error)}]}
    return {"data": {"viewer": {"accounts": [{"workersInvocationsAdaptive": groups}]}}}


def _request(document: Any) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("query"), str):
        raise GraphqlError("the request must be a JSON object with a `query` string")
    variables = document.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphqlError("`variables` must be an object")
    return document["query"], variables


def _check_shape(query: str) -> int:
    limit = 0
    for pattern in _REQUIRED:
        found = pattern.search(query)
        if found is None:
            raise GraphqlError(f"unsupported query: expected {pattern.pattern!r}")
        if found.groups():
            limit = int(found.group(1))
    return limit


def _groups(
    storage: ChdbStorage, variables: Mapping[str, Any], limit: int, account_id: str | None
) -> list[dict[str, Any]]:
    if account_id is not None and variables.get("accountTag") != account_id:
        raise GraphqlError("not authorized for that account")
    scripts = variables.get("scripts")
    if not isinstance(scripts, list) or not all(
        isinstance(s, str) and _SCRIPT.fullmatch(s) for s in scripts
    ):
        raise GraphqlError("$scripts must be a list of script names")
    since, until = _time(variables, "since"), _time(variables, "until")
    if not scripts or INVOCATIONS not in storage.datasets():
        return []
    names = ", ".join(f"'{s}'" for s in scripts)
    errors = ", ".join(f"'{s}'" for s in _ERROR_STATUSES)
    sql = (
        "SELECT blob1 AS scriptName, blob2 AS status, sum(_sample_interval) AS requests, "
        f"sum(_sample_interval * if(blob2 IN ({errors}), 1, 0)) AS errors, "
        "quantileExactWeighted(0.5)(double1, _sample_interval) AS cpuTimeP50, "
        "quantileExactWeighted(0.99)(double1, _sample_interval) AS cpuTimeP99 "
        f"FROM {INVOCATIONS} WHERE timestamp >= toDateTime({since}, 'UTC') "
        f"AND timestamp < toDateTime({until}, 'UTC') AND blob1 IN ({names}) "
        f"GROUP BY scriptName, status ORDER BY scriptName, status LIMIT {limit}"
    )
    try:
        rows = json.loads(storage.query(sql, "JSON"))["data"]
    except QueryError as error:
        raise GraphqlError(f"query failed: {error.message}") from None
    return [
        {
            "dimensions": {"scriptName": row["scriptName"], "status": row["status"]},
            "sum": {"requests": int(row["requests"]), "errors": int(row["errors"])},
            "quantiles": {
                "cpuTimeP50": float(row["cpuTimeP50"]),
                "cpuTimeP99": float(row["cpuTimeP99"]),
            },
        }
        for row in rows
    ]


def _time(variables: Mapping[str, Any], name: str) -> int:
    """A `Time` variable (RFC 3339) as epoch seconds."""
    text = variables.get(name)
    if not isinstance(text, str):
        raise GraphqlError(f"${name} must be a time such as 2026-01-01T00:00:00Z")
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GraphqlError(f"${name} is not an RFC 3339 time: {text[:40]!r}") from None
    if at.tzinfo is None:
        raise GraphqlError(f"${name} needs a time zone")
    return int(at.timestamp())
