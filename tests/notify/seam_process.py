"""One life of the daemon's evaluator and notifier, as built by alertd/pipeline.py on a
SQLite state file, for the process crash test (test_seam_crash.py).

`python -m tests.notify.seam_process DB RULES K`: resume from DB, take the notifier's
step the previous life was killed before (for tick K-1), then tick K, and SIGKILL this
process right after the evaluator's commit, before the notifier can run. With K past the
last tick it takes that step and exits 0. The kill is this test program's own: nothing
in alertd waits for it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx

from alertd.clock import FakeClock
from alertd.engine.step import Step
from alertd.model import Transition
from alertd.pipeline import Pipeline, Wiring, load_config, receivers_for
from alertd.rules.ruleset import Group
from alertd.settings import Settings
from alertd.store.sqlite import SqliteStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import T0

# Errors per table at each tick, 30 s apart (the same as the in-process test).
SERIES: list[dict[str, int]] = [
    {},
    {"users": 50},
    {"users": 50},
    {"users": 8},
    {"users": 8, "pitches": 40},
    {"users": 8, "pitches": 40},
    {"pitches": 40},
    {"pitches": 40},
    {},
    {},
]
INTERVAL = dt.timedelta(seconds=30)


def at(k: int) -> dt.datetime:
    return T0 + INTERVAL * k


def killed_here() -> None:
    """The evaluator has committed: die before anything else happens."""
    os.kill(os.getpid(), signal.SIGKILL)


async def life(db: Path, rules: Path, k: int) -> None:
    config = load_config([rules])
    if isinstance(config, list):
        raise SystemExit("\n".join(str(e) for e in config))
    clock = FakeClock(at(k))
    store = await SqliteStore.open(db)
    source = TableSource()
    async with httpx.AsyncClient() as client:
        wiring = Wiring(store, source, clock, client, sys.stdout)
        receivers = receivers_for(config, client, sys.stdout, console_json=False)
        assert not isinstance(receivers, list)

        settings = Settings(evaluation_delay_seconds=0)
        pipeline = Pipeline(
            [rules], config, receivers, wiring, settings, on_step=_no_step, show=_no_show
        )
        await pipeline.restore()
        if k > 0:
            await pipeline.service.flush(pipeline.evaluator.states, at(k - 1))
        if k < len(SERIES):
            source.series["db"] = dict(SERIES[k])
            pipeline.commits.committed = killed_here  # type: ignore[method-assign]
            (group,) = config.ruleset.groups
            await pipeline.evaluator.tick(group, at(k))
            raise SystemExit(f"tick {k} committed nothing, so nothing killed this process")
    await store.aclose()


async def _no_step(group: Group, step: Step) -> None:
    return None


def _no_show(changes: Sequence[Transition]) -> None:
    return None


if __name__ == "__main__":
    anyio.run(life, Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
