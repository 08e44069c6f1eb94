"""Build the record sources the rule files declare (`sources:`), secrets filled in."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping

import httpx
from pydantic import SecretStr

from alertd.env_refs import expand
from alertd.errors import AlertdError, SourceError
from alertd.query.records import Record
from alertd.rules.source_specs import HttpJsonSpec, SourceSpec, WorkersGraphqlSpec
from alertd.sources.base import RecordSource
from alertd.sources.http_json import HttpJsonSource
from alertd.sources.query_budget import QueryBudget
from alertd.sources.stats import SourceStats
from alertd.sources.workers_graphql import WorkersGraphqlSource

# The record sources for the declarations loaded now.
RecordSources = Callable[[Mapping[str, SourceSpec]], Mapping[str, RecordSource]]


class SourceConfigError(AlertdError):
    """A declared source cannot be built (a secret unset, a URL that is not one)."""


class UnbuiltSource:
    """Stands for a source that could not be built: each fetch fails saying why, so its
    rules are reported unhealthy and every other rule goes on."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def fetch(self, since: dt.datetime, until: dt.datetime) -> list[Record]:
        raise SourceError(self.reason, retryable=False)

    async def aclose(self) -> None:
        return None


class DeclaredSources:
    """The record sources of the rules loaded now, rebuilt only where a reload changed
    their declaration, so a source keeps its query budget across reloads."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        api_base: str,
        account_id: str,
        token: SecretStr,
        client: httpx.AsyncClient,
        now: Callable[[], dt.datetime],
        stats: SourceStats | None = None,
    ) -> None:
        self._build = functools.partial(
            build_record_sources,
            env=env,
            api_base=api_base,
            account_id=account_id,
            token=token,
            client=client,
            now=now,
            stats=stats,
        )
        self._built: dict[str, tuple[SourceSpec, RecordSource]] = {}

    def current(self, specs: Mapping[str, SourceSpec]) -> dict[str, RecordSource]:
        for name, spec in specs.items():
            kept = self._built.get(name)
            if kept is not None and kept[0] == spec:
                continue
            try:
                source = self._build({name: spec})[name]
            except SourceConfigError as exc:
                source = UnbuiltSource(name, str(exc))
            self._built[name] = (spec, source)
        for name in set(self._built) - set(specs):
            del self._built[name]  # its client is the daemon's, closed with it
        return {name: source for name, (_, source) in self._built.items()}


def build_record_sources(
    specs: Mapping[str, SourceSpec],
    *,
    env: Mapping[str, str],
    api_base: str,
    account_id: str,
    token: SecretStr,
    client: httpx.AsyncClient,
    now: Callable[[], dt.datetime],
    stats: SourceStats | None = None,
) -> dict[str, RecordSource]:
    """One source per declaration; the AE credentials also open the GraphQL API."""
    built: dict[str, RecordSource] = {}
    for name, spec in specs.items():
        if isinstance(spec, WorkersGraphqlSpec):
            built[name] = WorkersGraphqlSource(
                name,
                api_base=api_base,
                account_id=account_id,
                token=token,
                scripts={script: limits.cpu_ms for script, limits in spec.scripts.items()},
                budget=QueryBudget(spec.max_queries, spec.per, now),
                client=client,
                stats=stats,
                now=now,
            )
        else:
            built[name] = _http_json(name, spec, env, client, stats, now)
    return built


def _http_json(
    name: str,
    spec: HttpJsonSpec,
    env: Mapping[str, str],
    client: httpx.AsyncClient,
    stats: SourceStats | None,
    now: Callable[[], dt.datetime],
) -> HttpJsonSource:
    url = _filled(name, "url", spec.url, env)
    if not url.startswith(("http://", "https://")):
        raise SourceConfigError(f"source {name}: url must start with http:// or https://")
    headers = {key: _filled(name, f"headers.{key}", v, env) for key, v in spec.headers.items()}
    return HttpJsonSource(
        name,
        url=url,
        method=spec.method,
        headers=headers,
        timeout=spec.timeout.total_seconds(),
        records=spec.records,
        labels=spec.labels,
        values=spec.values,
        client=client,
        stats=stats,
        now=now,
    )


def _filled(source: str, field: str, text: str, env: Mapping[str, str]) -> str:
    """`text` with `${NAME}` references replaced; the error names the field, never the value."""
    try:
        value, missing = expand(text, env)
    except ValueError as exc:
        raise SourceConfigError(f"source {source}: {field}: {exc}") from None
    if missing is not None:
        raise SourceConfigError(f"source {source}: {field}: {missing}")
    return value
