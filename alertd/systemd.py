"""The service manager's notification protocol (sd_notify): readiness, watchdog, stopping.

systemd passes `NOTIFY_SOCKET` (a datagram socket path, or an abstract name starting with
`@`) and, with `WatchdogSec=`, `WATCHDOG_USEC` and `WATCHDOG_PID`. Outside systemd none
are set and every call here does nothing.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping

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

    def reloading(
        self, reload: Callable[[], Awaitable[bool]], status: Callable[[], str]
    ) -> Callable[[], Awaitable[bool]]:
        """`reload` announced as systemd asks of a service that reloads itself, whoever
        asked for it: `RELOADING=1` with the monotonic time before, `READY=1` after, so
        `systemctl reload` returns once the new rules are in (or refused)."""

        async def announced() -> bool:
            now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            self.notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}", "STATUS=reloading rules")
            try:
                return await reload()
            finally:
                self.notify("READY=1", status())

        return announced

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
