from collections.abc import Iterator

import pytest

from alertd.emulator.server import RunningEmulator, running_emulator

TOKEN = "emulator-test-token"


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """One emulator, with a known token, for every emulator test of the run."""
    with running_emulator(token=TOKEN) as running:
        yield running


@pytest.fixture
def empty_emulator(emulator: RunningEmulator) -> RunningEmulator:
    """The session's emulator with every dataset dropped."""
    emulator.reset()
    return emulator
