"""The service manager's notification protocol (sd_notify): readiness, watchdog, stopping.

systemd passes `NOTIFY_SOCKET` (a datagram socket path, or an abstract name starting with
`@`) and, with `WatchdogSec=`, `WATCHDOG_USEC` and `WATCHDOG_PID`. Outside systemd none
are set and every call here does nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import anyio
import structlog

log = structlog.get_logger(__name__)


class ServiceManager:
    """Tells the service manager how the daemon is doing; silent when there is none."""

    def __init__(self, address: str | None, watchdog_seconds: float | None = None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog_seconds
        self._reported = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServiceManager:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, _watchdog_seconds(env))

    def notify(self, *assignments: str) -> None:
        """Send `READY=1`, `STATUS=...` and the like in one datagram; a failure is logged
        once, never raised: the daemon works on without its manager hearing."""
        if self.address is None:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(assignments).encode(), target)
        except OSError as exc:
            if not self._reported:
                log.warning("systemd.notify_failed", socket=self.address, error=str(exc))
                self._reported = True

    async def keep_alive(self) -> None:
        """Send `WATCHDOG=1` at half the watchdog interval until cancelled.

        It runs on the event loop on purpose: a loop that stalls stops the pings, and
        systemd restarts the daemon. The real time, not the daemon's clock, is what
        systemd measures.
        """
        if self.address is None or self.watchdog_seconds is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await anyio.sleep(self.watchdog_seconds / 2)


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog interval meant for this process, if any."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
