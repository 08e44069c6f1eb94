"""Whether the state store takes writes: `AlertdStateUnwritable`, raised where it can be.

When the store cannot write, no alert can be raised through it; what is left is the log
and this object, which the daemon owns and its metrics and readiness read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog

log = structlog.get_logger(__name__)

ALERT = "AlertdStateUnwritable"
# Logged when it starts and then this often while it lasts, not on every failed write.
REMIND_EVERY = dt.timedelta(minutes=5)


@dataclasses.dataclass
class StateHealth:
    """What the daemon knows of its state store's health.

    `unwritable_since` is set by the first write that fails and cleared by the next one
    that succeeds; the counts only grow, as a metric's counters do.
    """

    unwritable_since: dt.datetime | None = None
    failed_writes: int = 0
    failed_reads: int = 0
    last_error: str | None = None
    _reminded_at: dt.datetime | None = dataclasses.field(default=None, repr=False)

    @property
    def writable(self) -> bool:
        return self.unwritable_since is None

    def write_failed(self, what: str, error: Exception, now: dt.datetime) -> None:
        """A write (`what`: the store call) failed with `error` at `now`."""
        self.failed_writes += 1
        self.last_error = str(error)
        if self.unwritable_since is None:
            self.unwritable_since = self._reminded_at = now
            log.error(f"{ALERT}.firing", alert=ALERT, write=what, error=str(error))
        elif self._reminded_at is None or now - self._reminded_at >= REMIND_EVERY:
            self._reminded_at = now
            log.error(
                f"{ALERT}.firing",
                alert=ALERT,
                write=what,
                error=str(error),
                since=self.unwritable_since.isoformat(),
                failed_writes=self.failed_writes,
            )

    def wrote(self, now: dt.datetime) -> None:
        """A write succeeded at `now`: the store takes writes again, if it did not."""
        if self.unwritable_since is None:
            return
        log.warning(
            f"{ALERT}.resolved",
            alert=ALERT,
            unwritable_s=(now - self.unwritable_since).total_seconds(),
            failed_writes=self.failed_writes,
        )
        self.unwritable_since = self._reminded_at = None

    def read_failed(self, what: str, error: Exception) -> None:
        """A read (`what`: the store call) failed with `error`; callers back off."""
        self.failed_reads += 1
        self.last_error = str(error)
        log.error("store.read_failed", read=what, error=str(error))
