"""Reload when the rules folder changes: an edit, a new file, or a Kubernetes ConfigMap
update (which swaps the `..data` symlink to a new timestamped folder in one rename)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import structlog
import watchfiles

log = structlog.get_logger(__name__)

# Changes closer together than this are one reload: an editor's save, a `cp -r`, or a
# ConfigMap's new folder, symlink and rename.
DEBOUNCE_MS = 1000
# How long the watching thread waits for a change before it says so (and looks again).
IDLE_MS = 5000


def watched(paths: Sequence[Path]) -> list[Path]:
    """The folders to watch: each folder named, and the folder of each file named (editors
    and ConfigMaps replace a file rather than write it, so the file itself would be lost)."""
    folders = [p if p.is_dir() else p.parent for p in paths]
    return [p for p in dict.fromkeys(folders) if p.is_dir()]


def relevant(change: watchfiles.Change, path: str) -> bool:
    """A YAML file, or a ConfigMap's `..data` link or `..` folder; not a state file or an
    editor's swap file kept beside the rules."""
    name = Path(path).name
    return name.startswith("..") or name.endswith((".yaml", ".yml"))


async def watch_rules(
    paths: Sequence[Path],
    reload: Callable[[], Awaitable[object]],
    *,
    debounce_ms: int = DEBOUNCE_MS,
    idle_ms: int = IDLE_MS,
    ready: anyio.Event | None = None,
) -> None:
    """Call `reload` after each burst of changes under `paths`, until cancelled. A reload
    that raises is logged and the watch goes on. `ready` is set once the watch is in place
    (at the first change, or after `idle_ms` without one); changes before it may be
    missed."""
    folders = watched(paths)
    if not folders:
        return
    changes = watchfiles.awatch(
        *folders,
        watch_filter=relevant,
        debounce=debounce_ms,
        rust_timeout=idle_ms,
        yield_on_timeout=True,
        recursive=True,
    )
    first = True
    async for changed in changes:
        if first:
            first = False
            if ready is not None:
                ready.set()
        if not changed:
            continue
        log.info("rules.changed", files=sorted({path for _, path in changed})[:20])
        try:
            await reload()
        except Exception:
            log.exception("rules.reload_failed")
