"""What the HTTP server reads: the daemon's live parts, handed over once at start."""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog

from alertd.clock import Clock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.reload_status import Reload, ReloadStatus
from alertd.reports.recent import RecentReports
from alertd.sources.stats import SourceStats
from alertd.store.base import Store
from alertd.store.health import StateHealth
from alertd.store.ownership import Ownership, SoleOwner

log = structlog.get_logger(__name__)

# Readiness wants each dataset to have answered within this many of its last ticks.
READY_FAILED_TICKS = 3


@dataclasses.dataclass
class LoopLag:
    """How late the event loop last woke a timer, in seconds (see `serve.watch_loop`)."""

    seconds: float = 0.0


@dataclasses.dataclass
class ServerParts:
    """The daemon's parts the API reads at each request, so a reload shows at once.

    `api_token` None turns the changing endpoints off (they answer 403 saying so).
    """

    evaluator: Evaluator
    notifier: Notifier
    store: Store
    clock: Clock
    health: StateHealth
    started_at: dt.datetime
    deliverer: Deliverer | None = None
    scheduler: GroupScheduler | None = None
    source_stats: SourceStats | None = None
    reload: Reload | None = None
    reload_status: ReloadStatus = dataclasses.field(default_factory=ReloadStatus)
    loop_lag: LoopLag = dataclasses.field(default_factory=LoopLag)
    api_token: str | None = None
    # What this replica works: its leases, and whether it leads the notification pipeline.
    ownership: Ownership = dataclasses.field(default_factory=SoleOwner)
    version: str = "0.1.0"
    # The performance reports sent lately, shown at /reports.
    reports: RecentReports = dataclasses.field(default_factory=RecentReports)
