from collections.abc import Iterator

import pytest
import structlog

from alertd.emulator.server import RunningEmulator, running_emulator


@pytest.fixture(scope="session")
def ae() -> Iterator[RunningEmulator]:
    """One local AE emulator for the whole run; tests reset it when they need it empty."""
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Commands configure logging for the process; each test starts from the defaults."""
    yield
    structlog.reset_defaults()
