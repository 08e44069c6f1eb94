"""The emulator's HTTP face: AE's SQL endpoint, the Workers GraphQL Analytics API, plus
the write and reset hooks tests use."""

from __future__ import annotations

import hmac
import json
import re
import uuid

import anyio.to_thread
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alertd.clock import Clock, SystemClock
from alertd.emulator import workers_graphql
from alertd.emulator.dialect import DialectError, Statement, analyse
from alertd.emulator.ingest import IngestDelay, Pending
from alertd.emulator.points import PointError, parse_points
from alertd.emulator.storage import DATASET_NAME, ChdbStorage, QueryError

SQL_PATH = "/client/v4/accounts/{account_id}/analytics_engine/sql"
# The platform's database health endpoint, and the hook the simulator sets it through.
HEALTH_PATH = "/api/analytics/database/health"
PLATFORM_HEALTH_PATH = "/emulator/platform/database-health"
DEFAULT_FORMAT = "JSONEachRow"  # the newer OpenAPI schema's default (reference §1)

_MEDIA_TYPES = {
    "JSON": "application/json",
    "JSONEachRow": "application/x-ndjson",
    "TabSeparated": "text/tab-separated-values",
}
# Tables store times as DateTime('UTC'); AE's meta says plain DateTime, its zone being UTC.
_UTC_DATETIME = re.compile(r"DateTime\('UTC'\)")

log = structlog.get_logger(__name__)


def create_app(
    storage: ChdbStorage,
    token: str | None,
    *,
    clock: Clock | None = None,
    ingest_delay: IngestDelay | None = None,
) -> Starlette:
    """An app answering as AE's SQL API does, over `storage`.

    `token` is the bearer token the SQL endpoint demands; with None any non-empty bearer
    is accepted. `clock` stamps written points that carry no timestamp, and says when a
    row held back by `ingest_delay` becomes visible.
    """
    now = (clock or SystemClock()).now
    pending = Pending(ingest_delay, now, storage.write) if ingest_delay else None

    async def sql(request: Request) -> Response:
        query_id = uuid.uuid4().hex
        if not _authorised(request.headers.get("authorization", ""), token):
            return _text(403, "Authorization error", query_id)
        try:
            statement = analyse(await _sql_text(request))
            if pending is not None:
                await anyio.to_thread.run_sync(pending.release)
            body = await anyio.to_thread.run_sync(_execute, storage, statement)
        except _BadRequest as error:
            return _text(400, str(error), query_id)
        except DialectError as error:
            log.info("emulator.query_rejected", query_id=query_id, reason=error.message)
            return _text(422, error.message, query_id)
        except QueryError as error:
            log.info("emulator.query_failed", query_id=query_id, reason=error.message)
            return _text(error.status, error.message, query_id)
        fmt = statement.format or DEFAULT_FORMAT
        return Response(body, 200, media_type=_MEDIA_TYPES[fmt], headers={"X-Query-Id": query_id})

    async def write(request: Request) -> Response:
        dataset = request.path_params["dataset"]
        if not DATASET_NAME.fullmatch(dataset):
            return _text(400, f"invalid dataset name: {dataset!r}")
        try:
            batch = parse_points(await request.body(), now())
        except PointError as error:
            return _text(400, str(error))
        if pending is None:
            written = await anyio.to_thread.run_sync(storage.write, dataset, batch.points)
        else:
            # The dataset exists at once, empty until its rows' time comes, as in AE.
            await anyio.to_thread.run_sync(storage.create, dataset)
            pending.add(dataset, batch.points)
            written = len(batch.points)
        return JSONResponse({"written": written, "dropped": batch.dropped})

    async def graphql(request: Request) -> Response:
        if not _authorised(request.headers.get("authorization", ""), token):
            return _text(403, "Authorization error")
        try:
            document = json.loads(await request.body())
        except ValueError:
            return _text(400, "the body must be a JSON GraphQL request")
        body = await anyio.to_thread.run_sync(workers_graphql.answer, storage, document, None)
        return JSONResponse(body)

    # The platform's health answer, as the simulator last posted it: the demo's stand-in
    # for the Pitchey Worker's own endpoint.
    platform_health: dict[str, object] = {}

    async def set_health(request: Request) -> Response:
        try:
            document = json.loads(await request.body())
        except ValueError:
            return _text(400, "the body must be the JSON health answer")
        platform_health["document"] = document
        return JSONResponse({"stored": True})

    async def get_health(request: Request) -> Response:
        if "document" not in platform_health:
            return JSONResponse({"status": "unknown", "databases": []}, 503)
        return JSONResponse(platform_health["document"])

    async def reset(request: Request) -> Response:
        if pending is not None:
            pending.clear()
        await anyio.to_thread.run_sync(storage.reset)
        platform_health.clear()
        return JSONResponse({"reset": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(SQL_PATH, sql, methods=["GET", "POST"]),
            Route(workers_graphql.GRAPHQL_PATH, graphql, methods=["POST"]),
            Route("/emulator/write/{dataset}", write, methods=["POST"]),
            Route("/emulator/reset", reset, methods=["POST"]),
            Route(PLATFORM_HEALTH_PATH, set_health, methods=["POST"]),
            Route(HEALTH_PATH, get_health, methods=["GET"]),
            Route("/emulator/health", health, methods=["GET"]),
        ]
    )


def _authorised(header: str, token: str | None) -> bool:
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return False
    return token is None or hmac.compare_digest(given.encode(), token.encode())


class _BadRequest(Exception):
    """The request carries no SQL; AE answers 400 with this message."""


async def _sql_text(request: Request) -> str:
    """The SQL from a POST body or, as the OpenAPI schema also allows, GET's `query`."""
    if request.method == "GET":
        text = request.query_params.get("query", "")
        if not text.strip():
            raise _BadRequest("Query string error: missing field `query`")
        return text
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _BadRequest("Content type error: the body must be UTF-8 SQL text") from error
    if not text.strip():
        raise _BadRequest("Content type error: the body must be the SQL query")
    return text


def _execute(storage: ChdbStorage, statement: Statement) -> bytes:
    fmt = statement.format or DEFAULT_FORMAT
    if statement.kind == "show_tables":
        body = storage.show_tables(fmt)
    else:
        body = storage.query(statement.clickhouse_sql, fmt)
    return _as_ae_json(storage, body) if fmt == "JSON" else body


def _as_ae_json(storage: ChdbStorage, body: bytes) -> bytes:
    """ClickHouse's JSON answer trimmed to AE's: no `statistics`, plain DateTime in meta."""
    try:
        answer = json.loads(body)
    except ValueError:
        # ClickHouse failed after it began to write the answer: the body ends in its
        # exception text. That is the query's fault, not a server fault to retry.
        raise storage.translate(body.decode("utf-8", "replace")[-2000:]) from None
    answer.pop("statistics", None)
    for column in answer.get("meta", []):
        column["type"] = _UTC_DATETIME.sub("DateTime", column["type"])
    return json.dumps(answer, ensure_ascii=False).encode()


def _text(status: int, message: str, query_id: str | None = None) -> Response:
    headers = {"X-Query-Id": query_id} if query_id else None
    return Response(message, status, media_type="text/plain", headers=headers)
