from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import structlog

from alertd.emulator.server import RunningEmulator, running_emulator
from tests import pg
from tests.notify import fakes
from tests.notify.fakes import FakeServices


@pytest.fixture(scope="session")
def ae() -> Iterator[RunningEmulator]:
    """One local AE emulator for the whole run; tests reset it when they need it empty."""
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One PostgreSQL database of this run's own, on the local server."""
    with pg.test_database() as name:
        yield name


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL store for one test."""
    with pg.test_schema(pg_database) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Commands configure logging for the process; each test starts from the defaults."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    """Local Slack, Teams, PagerDuty and webhook endpoints that check every payload."""
    with fakes.serving() as running:
        yield running


@pytest.fixture
def fake(services: FakeServices) -> Iterator[FakeServices]:
    """The services, reset for one test, which fails if any payload broke a rule."""
    with services.checked() as clean:
        yield clean


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """One shared HTTP client, as the daemon's receivers share one."""
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture(autouse=True)
def _http_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Daemons started by tests (in process or as children) serve HTTP on a port of
    their own, never the default one another daemon on this machine may hold."""
    monkeypatch.setenv("ALERTD_HTTP_ADDR", "127.0.0.1:0")
