"""AnalyticsEngineSource against an in-process AE stand-in (httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from random import Random
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alertd.clock import FakeClock
from alertd.errors import QueryRejectedError, SourceAuthError, SourceError
from alertd.model import Query, Rows
from alertd.retry_after import retry_after_seconds
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.sources.base import Source

pytestmark = pytest.mark.anyio

SECRET = "cf-tok-SeCrEt-0123456789abcdef"
TOKEN = SecretStr(SECRET)
ACCOUNT = "0123456789abcdef0123456789abcdef"
API_BASE = "https://api.cloudflare.test/client/v4"
ENDPOINT = f"{API_BASE}/accounts/{ACCOUNT}/analytics_engine/sql"
QUERY = Query(
    sql="SELECT blob1 AS route, count() AS n FROM web WHERE route = 'é' FORMAT JSON",
    dataset="web",
    rules=("high_error_rate", "slow_checkout"),
)
OK_BODY = {
    "meta": [{"name": "route", "type": "String"}, {"name": "n", "type": "UInt64"}],
    "data": [{"route": "/checkout", "n": "1523"}],
    "rows": 1,
}
OK_ROWS = ({"route": "/checkout", "n": 1523},)

Step = httpx.Response | Exception
Handler = Callable[[httpx.Request], Any]


class Script:
    """Answers each request with the next scripted response (or raises the next error)."""

    def __init__(self, *steps: Step) -> None:
        self._steps: Iterator[Step] = iter(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        return step


def ok() -> httpx.Response:
    return httpx.Response(200, json=OK_BODY)


def text(status: int, body: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC))


def source_for(handler: Handler, clock: FakeClock, **options: Any) -> AnalyticsEngineSource:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("random", Random(7))
    return AnalyticsEngineSource(
        API_BASE, ACCOUNT, TOKEN, sleep=clock.sleep, client=client, **options
    )


async def test_request_is_a_bearer_post_of_the_sql_to_the_account_endpoint(
    clock: FakeClock,
) -> None:
    script = Script(ok())
    await source_for(script, clock).run(QUERY)
    [request] = script.requests
    assert request.method == "POST"
    assert str(request.url) == ENDPOINT
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["content-type"] == "text/plain; charset=utf-8"
    assert request.content.decode("utf-8") == QUERY.sql


async def test_trailing_slash_on_api_base_does_not_double_the_path(clock: FakeClock) -> None:
    script = Script(ok())
    client = httpx.AsyncClient(transport=httpx.MockTransport(script))
    source = AnalyticsEngineSource(API_BASE + "/", ACCOUNT, TOKEN, sleep=clock.sleep, client=client)
    await source.run(QUERY)
    assert str(script.requests[0].url) == ENDPOINT


async def test_answer_becomes_typed_rows_with_numbers_from_strings(clock: FakeClock) -> None:
    body = {
        "meta": [
            {"name": "minute", "type": "DateTime"},
            {"name": "p95_ms", "type": "Float64"},
            {"name": "requests", "type": "UInt64"},
        ],
        "data": [{"minute": "2026-10-01 11:59:00", "p95_ms": "412.5", "requests": "90"}],
        "rows": 1,
    }
    rows = await source_for(Script(httpx.Response(200, json=body)), clock).run(QUERY)
    assert rows.data == (
        {
            "minute": dt.datetime(2026, 10, 1, 11, 59, tzinfo=dt.UTC),
            "p95_ms": 412.5,
            "requests": 90,
        },
    )
    assert [c.type for c in rows.columns] == ["DateTime", "Float64", "UInt64"]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (403, SourceAuthError),
        (422, QueryRejectedError),
        (400, SourceError),
        (404, SourceError),
        (413, SourceError),
    ],
)
async def test_refusals_are_not_retried(
    clock: FakeClock, status: int, error_type: type[SourceError]
) -> None:
    script = Script(text(status, "no", **{"Retry-After": "1"}))
    with pytest.raises(error_type) as caught:
        await source_for(script, clock, retries=5).run(QUERY)
    assert type(caught.value) is error_type
    assert caught.value.retryable is False
    assert caught.value.status == status
    assert len(script.requests) == 1
    assert clock.slept == []


async def test_403_says_which_setting_and_permission_to_check(clock: FakeClock) -> None:
    with pytest.raises(SourceAuthError) as caught:
        await source_for(Script(text(403, "Authorization error")), clock).run(QUERY)
    message = caught.value.message
    assert "CLOUDFLARE_API_TOKEN" in message
    assert "Account Analytics: Read" in message
    assert "Authorization error" in message


async def test_403_in_cloudflare_json_envelope_quotes_its_messages(clock: FakeClock) -> None:
    envelope = {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
    with pytest.raises(SourceAuthError, match="Authentication error"):
        await source_for(Script(httpx.Response(403, json=envelope)), clock).run(QUERY)


async def test_422_names_rules_and_dataset_and_quotes_ae(clock: FakeClock) -> None:
    body = "Input was invalid: cannot select unknown column: blob99 " + "x" * 1000
    with pytest.raises(QueryRejectedError) as caught:
        await source_for(Script(text(422, body)), clock).run(QUERY)
    message = caught.value.message
    assert "high_error_rate" in message
    assert "slow_checkout" in message
    assert "'web'" in message
    assert "cannot select unknown column: blob99" in message
    assert "x" * 400 in message
    assert "x" * 600 not in message


async def test_429_waits_exactly_what_retry_after_says(clock: FakeClock) -> None:
    busy = text(429, "Too many queries queued for this account", **{"Retry-After": "7"})
    script = Script(busy, ok())
    rows = await source_for(script, clock).run(QUERY)
    assert rows.data == OK_ROWS
    assert clock.slept == [7.0]
    assert len(script.requests) == 2


async def test_retry_after_as_http_date_is_measured_from_the_answers_date(
    clock: FakeClock,
) -> None:
    busy = text(
        503,
        "Query timed out waiting in queue",
        **{"Date": "Thu, 01 Oct 2026 12:00:00 GMT", "Retry-After": "Thu, 01 Oct 2026 12:00:30 GMT"},
    )
    await source_for(Script(busy, ok()), clock).run(QUERY)
    assert clock.slept == [30.0]


async def test_huge_retry_after_is_capped(clock: FakeClock) -> None:
    script = Script(text(429, "slow down", **{"Retry-After": "86400"}), ok())
    await source_for(script, clock, deadline=600.0).run(QUERY)
    assert clock.slept == [300.0]


RETRYABLE_FAILURES: list[tuple[str, Callable[[], Step], int | None]] = [
    ("500", lambda: text(500, "Sorry, we were unable to evaluate your query"), 500),
    ("502", lambda: text(502, "Bad Gateway"), 502),
    ("503", lambda: text(503, "Query timed out waiting in queue"), 503),
    ("504", lambda: text(504, "Gateway Timeout"), 504),
    ("520", lambda: text(520, "Web server returned an unknown error"), 520),
    ("connect", lambda: httpx.ConnectError("[Errno 111] Connection refused"), None),
    ("timeout", lambda: httpx.ReadTimeout("timed out"), None),
    ("read", lambda: httpx.ReadError("connection reset"), None),
    ("garbage", lambda: text(200, "<html>upstream hiccup</html>"), 200),
    ("half json", lambda: text(200, '{"meta": [{"name": "n", "type": "UInt64"}]'), 200),
]


@pytest.mark.parametrize(
    ("make_failure", "status"),
    [(make, status) for _, make, status in RETRYABLE_FAILURES],
    ids=[name for name, _, _ in RETRYABLE_FAILURES],
)
async def test_transient_failures_are_retried_then_reported_retryable(
    clock: FakeClock, make_failure: Callable[[], Step], status: int | None
) -> None:
    script = Script(*(make_failure() for _ in range(3)))
    with pytest.raises(SourceError) as caught:
        await source_for(script, clock, retries=2).run(QUERY)
    error = caught.value
    assert type(error) is SourceError
    assert error.retryable is True
    assert error.status == status
    assert "after 3 attempts" in error.message
    assert "'web'" in error.message
    assert len(script.requests) == 3
    assert len(clock.slept) == 2


async def test_success_after_two_failures_returns_the_rows(clock: FakeClock) -> None:
    script = Script(text(503, "queue"), httpx.ConnectError("refused"), ok())
    rows = await source_for(script, clock, retries=2).run(QUERY)
    assert isinstance(rows, Rows)
    assert rows.data == OK_ROWS
    assert len(script.requests) == 3


async def test_exhausted_429_reports_the_servers_last_retry_after(clock: FakeClock) -> None:
    script = Script(*(text(429, "busy", **{"Retry-After": "12"}) for _ in range(2)))
    with pytest.raises(SourceError) as caught:
        await source_for(script, clock, retries=1).run(QUERY)
    assert caught.value.status == 429
    assert caught.value.retry_after == 12.0
    assert clock.slept == [12.0]


async def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling(clock: FakeClock) -> None:
    script = Script(*(text(500, "oops") for _ in range(7)))
    source = source_for(script, clock, retries=6, initial_backoff=1.0, max_backoff=4.0)
    with pytest.raises(SourceError):
        await source.run(QUERY)
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert len(clock.slept) == len(ceilings)
    assert all(0.0 <= s <= c for s, c in zip(clock.slept, ceilings, strict=True))
    assert len(set(clock.slept)) == len(clock.slept)


async def test_same_random_seed_gives_the_same_waits(clock: FakeClock) -> None:
    waits = []
    for _ in range(2):
        fake = FakeClock(clock.now())
        script = Script(*(text(500, "oops") for _ in range(4)))
        with pytest.raises(SourceError):
            await source_for(script, fake, retries=3, random=Random(42)).run(QUERY)
        waits.append(fake.slept)
    assert waits[0] == waits[1]


async def test_no_more_than_concurrency_requests_are_in_flight(clock: FakeClock) -> None:
    in_flight = peak = 0
    limit_reached, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            limit_reached.set()
        await release.wait()
        in_flight -= 1
        return ok()

    source = source_for(handler, clock, concurrency=2)
    answers: list[Rows] = []

    async def run_one() -> None:
        answers.append(await source.run(QUERY))

    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(run_one)
        await limit_reached.wait()
        await anyio.wait_all_tasks_blocked()
        assert in_flight == 2
        release.set()
    assert peak == 2
    assert len(answers) == 5


SECRET_SCENARIOS: list[tuple[str, Callable[[], list[Step]]]] = [
    ("403", lambda: [text(403, "Authorization error")]),
    ("403 echoing the token", lambda: [text(403, f"bad token Bearer {SECRET}")]),
    ("422 echoing the token", lambda: [text(422, f"Input was invalid near {SECRET}")]),
    ("400", lambda: [text(400, "Content type error")]),
    ("500 echoing the token", lambda: [text(500, SECRET), text(500, SECRET)]),
    ("connect error", lambda: [httpx.ConnectError("refused"), httpx.ConnectError(SECRET)]),
    ("timeout", lambda: [httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow")]),
    ("garbage echoing the token", lambda: [text(200, "{"), text(200, f"<p>{SECRET}</p>")]),
]


@pytest.mark.parametrize(
    "make_steps",
    [make for _, make in SECRET_SCENARIOS],
    ids=[name for name, _ in SECRET_SCENARIOS],
)
async def test_token_never_reaches_messages_reprs_or_logs(
    clock: FakeClock, make_steps: Callable[[], list[Step]]
) -> None:
    source = source_for(Script(*make_steps()), clock, retries=1)
    with capture_logs() as logs, pytest.raises(SourceError) as caught:
        await source.run(QUERY)
    # Every SourceError on the chain is ours to keep clean; the httpx error at its root
    # carries whatever text the transport chose and is masked by the log configuration.
    error: BaseException | None = caught.value
    while isinstance(error, SourceError):
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
        assert SECRET not in error.message
        error = error.__cause__
    assert SECRET not in repr(source)
    assert logs
    assert SECRET not in repr(logs)


def test_token_that_cannot_be_a_header_is_refused_without_being_shown(
    clock: FakeClock,
) -> None:
    bad = "tok\nen-SECRET"
    with pytest.raises(ValueError, match="HTTP header") as caught:
        AnalyticsEngineSource(API_BASE, ACCOUNT, SecretStr(bad), sleep=clock.sleep)
    assert bad not in str(caught.value)
    assert "SECRET" not in str(caught.value)


async def test_each_attempt_is_logged_with_its_outcome_and_duration(clock: FakeClock) -> None:
    # The query's start, each attempt's start and end, and the deadline check between.
    ticks = iter([100.0, 100.0, 100.25, 100.25, 200.0, 200.5])
    script = Script(text(503, "queue"), ok())
    source = source_for(script, clock, monotonic=lambda: next(ticks))
    with capture_logs() as logs:
        await source.run(QUERY)
    failed, succeeded = logs
    assert failed["event"] == "source.query_failed"
    assert failed["status"] == 503
    assert failed["attempt"] == 1
    assert failed["duration_ms"] == 250.0
    assert failed["retryable"] is True
    assert succeeded["event"] == "source.query"
    assert succeeded["log_level"] == "info"
    assert succeeded["dataset"] == "web"
    assert succeeded["rules"] == ["high_error_rate", "slow_checkout"]
    assert succeeded["status"] == 200
    assert succeeded["attempt"] == 2
    assert succeeded["duration_ms"] == 500.0


async def test_lent_client_stays_open_after_aclose(clock: FakeClock) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(Script(ok())))
    source = AnalyticsEngineSource(API_BASE, ACCOUNT, TOKEN, sleep=clock.sleep, client=client)
    await source.aclose()
    assert not client.is_closed
    await client.aclose()


async def test_own_client_is_closed_by_aclose(clock: FakeClock) -> None:
    source = AnalyticsEngineSource(API_BASE, ACCOUNT, TOKEN, sleep=clock.sleep)
    owned = source._client  # the only way to see a client the caller never held
    assert not owned.is_closed
    await source.aclose()
    assert owned.is_closed


async def test_works_through_the_source_protocol(clock: FakeClock) -> None:
    script = Script(ok())
    client = httpx.AsyncClient(transport=httpx.MockTransport(script))
    source: Source = AnalyticsEngineSource(
        API_BASE, ACCOUNT, TOKEN, sleep=clock.sleep, client=client
    )
    assert (await source.run(QUERY)).data == OK_ROWS
    await source.aclose()
    await client.aclose()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": " 2.5 "}, 2.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "301"}, 300.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "Thu, 01 Oct 2026 12:00:30 GMT"}, None),
        (
            {
                "Retry-After": "Thu, 01 Oct 2026 11:59:00 GMT",
                "Date": "Thu, 01 Oct 2026 12:00:00 GMT",
            },
            0.0,
        ),
    ],
)
def test_retry_after_header_values(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers)) == expected
