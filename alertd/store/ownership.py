"""Who works what: each rule group, and the notification pipeline, is owned by one
replica at a time through a lease. A store that one process alone uses (memory, SQLite)
owns everything; PostgreSQL shares the work between replicas (`leases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import anyio

# The lease of the notification pipeline (notifier and delivery): its holder is the leader.
NOTIFY_LEASE = "notify"
GROUP_PREFIX = "group:"


def group_lease(group: str) -> str:
    """The lease that owns rule group `group`."""
    return GROUP_PREFIX + group


def lease_of_commit(group: str) -> str:
    """The lease a `Commit` of `group` is fenced by: the notifier's commits and the
    retirement of alerts whose rules are gone are the leader's; a tick is its group's."""
    if group in ("notify", "retire"):
        return NOTIFY_LEASE
    return group_lease(group)


def lease_names(groups: Iterable[str]) -> list[str]:
    """Every lease a rule set calls for: one per group and the leader's, in a set order."""
    return [*sorted({group_lease(g) for g in groups}), NOTIFY_LEASE]


class Ownership(Protocol):
    """What this replica holds now."""

    @property
    def replica(self) -> str:
        """This replica's id, as other replicas and the status API see it."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other replicas may work the same store (then what others commit is
        read from the store, not known in memory)."""
        ...

    @property
    def leader(self) -> str | None:
        """The replica holding the notification pipeline, as last seen."""
        ...

    @property
    def live(self) -> list[str]:
        """The replicas seen alive, as last seen."""
        ...

    def want(self, groups: Iterable[str]) -> None:
        """Work these rule groups (at start and after each reload)."""
        ...

    def token(self, lease: str) -> int | None:
        """The fencing token of `lease` if this replica holds it, else None."""
        ...

    async def run(self) -> None:
        """Keep the leases (renew, take, give back) until cancelled."""
        ...

    def held(self) -> list[str]:
        """The leases this replica holds, sorted."""
        ...


class SoleOwner:
    """The one process on its store: it holds every lease, always with token 1."""

    def __init__(self, replica: str = "single") -> None:
        self._replica = replica
        self._leases: list[str] = [NOTIFY_LEASE]

    @property
    def replica(self) -> str:
        return self._replica

    @property
    def shared(self) -> bool:
        return False

    @property
    def leader(self) -> str | None:
        return self._replica

    @property
    def live(self) -> list[str]:
        return [self._replica]

    def want(self, groups: Iterable[str]) -> None:
        self._leases = lease_names(groups)

    def token(self, lease: str) -> int | None:
        return 1

    async def run(self) -> None:
        await anyio.sleep_forever()  # nothing to renew: nobody else could take it

    def held(self) -> list[str]:
        return sorted(self._leases)


def holds(ownership: Ownership, lease: str) -> bool:
    return ownership.token(lease) is not None
