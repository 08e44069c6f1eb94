"""The rules folder is watched: a change, including a Kubernetes ConfigMap update (a new
timestamped folder, then the `..data` symlink swapped to it in one rename), reloads."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
import watchfiles

from alertd.pipeline import load_config
from alertd.watch import relevant, watch_rules
from tests.engine.timeline import DATASETS

pytestmark = pytest.mark.anyio

RULE = """\
group: live
rules:
  - alert: {name}
    dataset: db
    value: count()
    thresholds: {{critical: "> 10"}}
"""


def version(volume: Path, stamp: str, alert: str) -> Path:
    """A ConfigMap's data as the kubelet writes it: a hidden timestamped folder."""
    folder = volume / f"..{stamp}"
    folder.mkdir()
    (folder / "datasets.yaml").write_text(DATASETS)
    (folder / "live.yaml").write_text(RULE.format(name=alert))
    return folder


def configmap(volume: Path) -> None:
    """The first version, `..data` pointing at it, and each file a link through `..data`."""
    volume.mkdir()
    version(volume, "2026_12_02_10_00_00.1", "First")
    (volume / "..data").symlink_to("..2026_12_02_10_00_00.1")
    for name in ("datasets.yaml", "live.yaml"):
        (volume / name).symlink_to(f"..data/{name}")


def swap(volume: Path) -> None:
    """The kubelet's update: the new folder, a `..data_tmp` link to it, renamed over `..data`."""
    version(volume, "2026_12_02_10_05_00.2", "Second")
    (volume / "..data_tmp").symlink_to("..2026_12_02_10_05_00.2")
    os.rename(volume / "..data_tmp", volume / "..data")


def alerts(volume: Path) -> list[str]:
    found = load_config([volume])
    assert not isinstance(found, list), found
    return [rule.name for rule in found.ruleset.rules]


async def test_a_configmap_symlink_swap_reloads_the_new_rules(tmp_path: Path) -> None:
    volume = tmp_path / "rules"
    configmap(volume)
    # The hidden folders are not read a second time beside the links.
    assert alerts(volume) == ["First"]
    ready, reloaded = anyio.Event(), anyio.Event()
    seen: list[list[str]] = []

    async def reload() -> None:
        seen.append(alerts(volume))
        reloaded.set()

    with anyio.fail_after(20):  # real seconds: a watch that misses the swap fails here
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                lambda: watch_rules([volume], reload, debounce_ms=100, idle_ms=100, ready=ready)
            )
            await ready.wait()
            swap(volume)
            await reloaded.wait()
            tasks.cancel_scope.cancel()
    assert seen == [["Second"]]


async def test_an_editors_save_reloads_the_edited_rules(tmp_path: Path) -> None:
    volume = tmp_path / "rules"
    volume.mkdir()
    (volume / "datasets.yaml").write_text(DATASETS)
    (volume / "live.yaml").write_text(RULE.format(name="First"))
    ready, reloaded = anyio.Event(), anyio.Event()
    seen: list[list[str]] = []

    async def reload() -> None:
        seen.append(alerts(volume))
        reloaded.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                lambda: watch_rules([volume], reload, debounce_ms=500, idle_ms=100, ready=ready)
            )
            await ready.wait()
            # An editor's save: a temporary file, renamed over the original.
            (volume / ".live.yaml.swp").write_text(RULE.format(name="Second"))
            os.rename(volume / ".live.yaml.swp", volume / "live.yaml")
            await reloaded.wait()
            tasks.cancel_scope.cancel()
    assert seen == [["Second"]]


def test_only_rule_files_and_configmap_links_count_as_changes(tmp_path: Path) -> None:
    def counts(name: str) -> bool:
        return relevant(watchfiles.Change.modified, str(tmp_path / name))

    assert [counts(n) for n in ("live.yaml", "notify.yml", "..data", "..2026_12_02.1")] == [
        True
    ] * 4
    # A state file, an editor's swap file, anything else kept beside the rules.
    assert [counts(n) for n in ("alertd.db-wal", ".live.yaml.swp", "notes.txt")] == [False] * 3
