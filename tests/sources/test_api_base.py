"""A CLOUDFLARE_API_BASE that cannot be reached is refused when the source is built."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from alertd.cli import main
from alertd.clock import FakeClock
from alertd.model import Query
from alertd.sources.analytics_engine import AnalyticsEngineSource

ACCOUNT = "0123456789abcdef0123456789abcdef"


def build(api_base: str, client: httpx.AsyncClient | None = None) -> AnalyticsEngineSource:
    clock = FakeClock(dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    return AnalyticsEngineSource(
        api_base, ACCOUNT, SecretStr("token"), sleep=clock.sleep, client=client
    )


@pytest.mark.parametrize(
    ("api_base", "problem"),
    [
        ("http://127.0.0.1:99999/client/v4", "port 99999"),
        ("http://127.0.0.1:65536", "port 65536"),
        ("http://127.0.0.1:0/client/v4", "port 0"),
        ("http://127.0.0.1:abc/client/v4", "not a valid URL"),
        ("ftp://api.cloudflare.com/client/v4", "http"),
        ("api.cloudflare.com/client/v4", "http"),
        ("https:///client/v4", "host"),
    ],
)
def test_an_unusable_api_base_is_a_clean_error_naming_the_setting(
    api_base: str, problem: str
) -> None:
    with pytest.raises(ValueError, match="CLOUDFLARE_API_BASE") as caught:
        build(api_base)
    assert problem in str(caught.value)


@pytest.mark.anyio
async def test_a_good_api_base_with_a_port_is_used_as_given() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"meta": [], "data": [], "rows": 0})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    await build("http://127.0.0.1:8787/client/v4", client).run(Query("SELECT 1", "d", ()))
    assert seen == [f"http://127.0.0.1:8787/client/v4/accounts/{ACCOUNT}/analytics_engine/sql"]


def test_alertd_query_reports_a_bad_port_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_BASE", "http://127.0.0.1:99999/client/v4")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "token")
    rules = str(Path(__file__).parents[2] / "rules")
    code = main(["query", "count()", "--dataset", "pitchey_database_metrics", "--rules", rules])
    assert code == 1
    err = capsys.readouterr().err
    assert "CLOUDFLARE_API_BASE cannot be used: port 99999 is not between 1 and 65535" in err
    assert "Traceback" not in err
