"""How the last reload of the rules went, kept once for everyone who reports it: the
metrics, the systemd status line and the API that asked for the reload."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

# Reloads the rules and notification settings; whether the new ones were taken.
Reload = Callable[[], Awaitable[bool]]


@dataclasses.dataclass
class ReloadStatus:
    """The outcome of the last reload (`alertd_config_last_reload_*`)."""

    successful: bool = True
    last_success_at: dt.datetime | None = None

    def record(self, ok: bool, at: dt.datetime) -> None:
        self.successful = ok
        if ok:
            self.last_success_at = at

    def tracked(self, reload: Reload, now: Callable[[], dt.datetime]) -> Reload:
        """`reload`, recording here how each call went; one that raises is a failed
        reload, logged, never the end of the daemon or of the request that asked."""

        async def reload_and_record() -> bool:
            try:
                ok = await reload()
            except Exception:
                log.exception("rules.reload_failed")
                ok = False
            self.record(ok, now())
            return ok

        return reload_and_record
