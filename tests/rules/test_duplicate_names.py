"""Names that must be unique across every rule file: alerts and groups."""

import datetime as dt
from pathlib import Path
from typing import cast

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.rules.loader import load
from alertd.rules.ruleset import Group

DATASETS = """\
datasets:
  db:
    index: table
    blobs: [table, status]
    doubles: [duration]
"""


def rule(alert: str, value: str = "count()") -> str:
    """Five lines of YAML; `alert` is at column 5 and its value at column 12."""
    return (
        f"  - alert: {alert}\n    dataset: db\n    value: {value}\n"
        "    window: 5m\n    thresholds: {warning: '> 1'}\n"
    )


def group_file(group: str, *rules: str) -> str:
    """Three lines of header, then the rules."""
    return f"group: {group}\ninterval: 30s\nrules:\n{''.join(rules)}"


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in {"datasets.yaml": DATASETS, **files}.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def messages(tmp_path: Path) -> list[str]:
    return sorted(str(e).replace(str(tmp_path) + "/", "") for e in load([tmp_path]).errors)


def test_a_duplicate_alert_after_a_rule_that_failed_is_reported_at_the_duplicate(
    tmp_path: Path,
) -> None:
    broken = rule("Broken", "count(nope == 1)")
    write(tmp_path, **{"r.yaml": group_file("g", broken, rule("A"), rule("A"))})
    found = messages(tmp_path)
    # Broken is on line 4, the first A on line 9 and the duplicate A on line 14.
    assert [m for m in found if "already defined" in m] == [
        "r.yaml:14:12: alert 'A' is already defined at r.yaml:9:5"
    ], found


def test_a_group_named_like_an_earlier_one_is_reported_at_its_group_key(
    tmp_path: Path,
) -> None:
    write(tmp_path, **{"a.yaml": group_file("g", rule("A")), "b.yaml": group_file("g", rule("B"))})
    assert messages(tmp_path) == ["b.yaml:1:1: group 'g' is already defined at a.yaml:1:1"]


def test_the_first_group_of_a_name_is_kept_and_the_duplicate_left_out(tmp_path: Path) -> None:
    write(tmp_path, **{"a.yaml": group_file("g", rule("A")), "b.yaml": group_file("g", rule("B"))})
    groups = load([tmp_path]).ruleset.groups
    assert [(g.name, [r.name for r in g.rules]) for g in groups] == [("g", ["A"])]


def test_the_other_errors_of_a_duplicate_group_are_still_reported(tmp_path: Path) -> None:
    duplicate = group_file("g", rule("A"), rule("Broken", "p95()"))
    write(tmp_path, **{"a.yaml": group_file("g", rule("A")), "b.yaml": duplicate})
    assert messages(tmp_path) == [
        "b.yaml:11:12: rules[1].value: p95() takes 1 to 2 arguments, got 0",
        "b.yaml:1:1: group 'g' is already defined at a.yaml:1:1",
        "b.yaml:4:12: alert 'A' is already defined at a.yaml:4:5",
    ]


class IdleEvaluator:
    async def tick(self, group: Group, at: dt.datetime, *, now: dt.datetime | None = None) -> Step:
        return Step()


@pytest.mark.anyio
async def test_every_group_that_loads_can_be_scheduled(tmp_path: Path) -> None:
    write(tmp_path, **{"a.yaml": group_file("g", rule("A")), "b.yaml": group_file("g", rule("B"))})
    groups = load([tmp_path]).ruleset.groups

    async def on_step(_: Group, step: Step) -> None:
        return None

    clock = FakeClock(dt.datetime(2026, 11, 28, 10, 0, 30, tzinfo=dt.UTC), autojump=False)
    scheduler = GroupScheduler(
        cast(Evaluator, IdleEvaluator()), clock, delay=dt.timedelta(0), on_step=on_step
    )
    async with anyio.create_task_group() as tasks:
        # One task per group name: two groups `g` would share one, and one never tick.
        await tasks.start(scheduler.run, groups)
        await clock.run_for(0)
        await scheduler.shutdown()
    assert sorted(scheduler.last_at) == sorted(g.name for g in groups)
