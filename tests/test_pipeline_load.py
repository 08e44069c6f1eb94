"""Loading rules (at start and on reload) runs off the event loop, so the daemon keeps going,
and reads each file once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from alertd import pipeline
from alertd.rules import yaml_source
from alertd.rules.ruleset import RuleSet

pytestmark = pytest.mark.anyio
RULES = Path(__file__).parents[1] / "rules"


async def test_the_event_loop_keeps_running_while_rules_load() -> None:
    loop_thread = threading.get_ident()
    turns = 0
    loading = True

    async def other_work() -> None:
        nonlocal turns
        while loading:
            turns += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(other_work)
        await anyio.lowlevel.checkpoint()
        before = turns
        found = await pipeline.load([RULES])
        during = turns - before
        loading = False
    assert not isinstance(found, list)
    ruleset = found.ruleset
    assert isinstance(ruleset, RuleSet)
    assert ruleset.rules
    assert threading.get_ident() == loop_thread
    # Reading and checking four files takes far longer than one turn of the loop.
    assert during > 5


def test_one_load_reads_each_rule_file_and_the_notification_file_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: Counter[str] = Counter()
    read = yaml_source.read

    def counted(path: Path) -> yaml_source.Document:
        reads[str(path)] += 1
        return read(path)

    monkeypatch.setattr(yaml_source, "read", counted)
    found = pipeline.load_config([RULES])
    assert not isinstance(found, list)
    assert str(RULES / "notify.yaml") in reads
    assert set(reads.values()) == {1}, reads
