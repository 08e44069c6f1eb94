"""Worker invocations from Cloudflare's GraphQL Analytics API (`workersInvocationsAdaptive`).

One query per fetch covers every watched script (`scriptName_in`), grouped by script and
status. CPU times arrive in microseconds and leave as milliseconds, beside each script's
declared limit (`cpuLimitMs`), so a rule compares the two. An HTTP 200 whose body holds
`errors` is a failure: GraphQL reports most problems that way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from alertd.errors import SourceError
from alertd.query.records import Record
from alertd.sources.http_answer import counted_fetch, excerpt, json_answer
from alertd.sources.query_budget import QueryBudget
from alertd.sources.stats import SourceStats

# The API caps a node's result rows; far more than the scripts x statuses one fetch asks for.
ROW_LIMIT = 10_000
# How failures name what was asked.
API = "the GraphQL API"

QUERY = (
    "query WorkerInvocations("
    "$accountTag: string!, $scripts: [string!], $since: Time!, $until: Time!) {\n"
    "  viewer {\n"
    "    accounts(filter: {accountTag: $accountTag}) {\n"
    f"      workersInvocationsAdaptive(limit: {ROW_LIMIT}, filter: {{"
    "scriptName_in: $scripts, datetime_geq: $since, datetime_lt: $until}) {\n"
    "        dimensions { scriptName status }\n"
    "        sum { requests errors }\n"
    "        quantiles { cpuTimeP50 cpuTimeP99 }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}"
)


class WorkersGraphqlSource:
    """A `RecordSource` POSTing one GraphQL query per fetch to `{api_base}/graphql`."""

    def __init__(
        self,
        name: str,
        *,
        api_base: str,
        account_id: str,
        token: SecretStr,
        scripts: Mapping[str, float],
        budget: QueryBudget,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        stats: SourceStats | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.name = name
        self._url = f"{api_base.rstrip('/')}/graphql"
        self._account_id = account_id
        self._token = token
        self._limits = dict(scripts)
        self.budget = budget
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._timeout = timeout
        self.stats = stats if stats is not None else SourceStats(now)

    async def fetch(self, since: dt.datetime, until: dt.datetime) -> list[Record]:
        variables = {
            "accountTag": self._account_id,
            "scripts": sorted(self._limits),
            "since": _iso(since),
            "until": _iso(until),
        }
        body = json.dumps({"query": QUERY, "variables": variables})
        self.budget.spend(f"source {self.name}")
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

        async def send() -> httpx.Response:
            return await self._client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )

        return await counted_fetch(self.name, self.stats, API, len(body), send, self._records)

    def _records(self, answer: httpx.Response) -> list[Record]:
        document = json_answer(self.name, API, answer)
        if not isinstance(document, dict):
            raise self._shape("the answer is not a JSON object")
        if errors := document.get("errors"):
            raise SourceError(
                f"source {self.name}: the GraphQL API answered with errors: {_messages(errors)}",
                retryable=False,
                status=answer.status_code,
            )
        return [self._record(group) for group in self._groups(document)]

    def _groups(self, document: dict[str, Any]) -> list[Any]:
        try:
            accounts = document["data"]["viewer"]["accounts"]
            groups = accounts[0]["workersInvocationsAdaptive"] if accounts else []
        except (KeyError, IndexError, TypeError):
            raise self._shape("no data.viewer.accounts[0].workersInvocationsAdaptive") from None
        if not isinstance(groups, list):
            raise self._shape("workersInvocationsAdaptive is not a list")
        return groups

    def _record(self, group: Any) -> Record:
        try:
            script = str(group["dimensions"]["scriptName"])
            status = str(group["dimensions"]["status"])
            sums, quantiles = group["sum"], group["quantiles"]
            return {
                "scriptName": script,
                "status": status,
                "requests": _number(sums["requests"]),
                "errors": _number(sums["errors"]),
                # The API gives microseconds; limits and thresholds are in milliseconds.
                "cpuTimeP50": _number(quantiles["cpuTimeP50"]) / 1000,
                "cpuTimeP99": _number(quantiles["cpuTimeP99"]) / 1000,
                "cpuLimitMs": self._limits.get(script),
            }
        except (KeyError, TypeError, ValueError):
            raise self._shape("a group lacks dimensions, sum or quantiles") from None

    def _shape(self, problem: str) -> SourceError:
        return SourceError(
            f"source {self.name}: unexpected GraphQL answer: {problem}", retryable=False
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(value)
    return float(value)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _messages(errors: Any) -> str:
    if not isinstance(errors, list):
        return excerpt(str(errors))
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    return excerpt("; ".join(texts))
