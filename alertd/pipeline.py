"""The parts that evaluate and notify, built in one place for every command that runs them
(`run`, `demo`, `backtest`, `notify-test`), and reloaded together.

What they run on comes in from outside (`Wiring`): the store, the source, the clock, the
HTTP client and the output stream, so a test builds the daemon's very parts on a
MemoryStore, an in-process source and a FakeClock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import anyio
import httpx
import structlog

from alertd.clock import Clock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler, OnStep
from alertd.errors import Location, RuleError
from alertd.model import OutboxEntry, Transition
from alertd.notify.build import build_receivers, notify_config_of
from alertd.notify.config import NotifyConfig, console_only
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import DEFAULT_MAX_AGE, Notifier
from alertd.notify.receivers.base import Receiver
from alertd.notify.service import NotificationService
from alertd.notify.unavailable import warn_unavailable
from alertd.query.check import check_rules
from alertd.reload_status import ReloadStatus
from alertd.rules.ruleset import Rule, RuleSet
from alertd.rules.yaml_source import Document
from alertd.settings import Settings
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.sources.base import Source
from alertd.sources.stats import SourceStats
from alertd.store.base import Store
from alertd.store.commits import Commits
from alertd.store.health import StateHealth

log = structlog.get_logger(__name__)

RECEIVER_TIMEOUT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class Config:
    """One load of the rules folder: the rules, and the notification settings."""

    ruleset: RuleSet
    notify: NotifyConfig
    # The notification file as parsed, to place errors found when its receivers are built.
    notify_document: Document | None = None


def load_config(paths: Sequence[Path], *, notifications: bool = True) -> Config | list[RuleError]:
    """The rules and notification settings in `paths`, or every error found in them.

    Each file is read and parsed once: the rules loader hands the notification file it
    met on. Without `notifications` the notification file is not looked at (every alert
    goes to the console).
    """
    loaded = check_rules(paths)
    if not notifications:
        return loaded.errors or Config(loaded.ruleset, console_only())
    notify, notify_errors = notify_config_of(loaded.foreign)
    errors = [*loaded.errors, *notify_errors]
    if errors or notify is None:
        return errors
    document = loaded.foreign[0] if loaded.foreign else None
    return Config(loaded.ruleset, notify, document)


async def load(paths: Sequence[Path]) -> Config | list[RuleError]:
    """`load_config` in a worker thread: reading and checking a big rule set takes a while,
    and ticks, deliveries and signals go on meanwhile."""
    return await anyio.to_thread.run_sync(load_config, paths)


def build_source(settings: Settings, clock: Clock) -> AnalyticsEngineSource:
    return AnalyticsEngineSource(
        settings.cloudflare_api_base,
        settings.cloudflare_account_id,
        settings.cloudflare_api_token,
        sleep=clock.sleep,
        timeout=settings.query_timeout_seconds,
        retries=settings.query_retries,
        concurrency=settings.query_concurrency,
        deadline=settings.query_deadline_seconds,
        max_response_bytes=settings.query_max_response_bytes,
        stats=SourceStats(clock.now),
    )


@dataclasses.dataclass(frozen=True)
class Wiring:
    """What the parts run on, handed in by whoever runs them."""

    store: Store
    source: Source
    clock: Clock
    client: httpx.AsyncClient
    out: TextIO
    # `--json`: console receivers write JSON lines whatever the notification file asks.
    console_json: bool = False
    health: StateHealth = dataclasses.field(default_factory=StateHealth)
    # What the source counts (queries, bytes, rows per dataset), for /metrics.
    source_stats: SourceStats | None = None


@dataclasses.dataclass(frozen=True)
class Receivers:
    """The receivers built from one notification file, and their rate limits."""

    by_name: dict[str, Receiver]
    rates: dict[str, float]


def receivers_for(
    config: Config | NotifyConfig, client: httpx.AsyncClient, out: TextIO, *, console_json: bool
) -> Receivers | list[RuleError]:
    """Every receiver the settings configure, or why one cannot be built (at its place in
    the notification file when it is known)."""
    notify = config.notify if isinstance(config, Config) else config
    document = config.notify_document if isinstance(config, Config) else None
    try:
        by_name, rates = build_receivers(notify, client, out, console_json=console_json)
    except ValueError as exc:
        return [RuleError(_receivers_location(document), f"a receiver cannot be built: {exc}")]
    return Receivers(by_name, rates)


def _receivers_location(document: Document | None) -> Location:
    if document is None:
        return Location("notify.yaml")
    return document.location(("receivers",))


def build_notification(
    config: Config,
    wiring: Wiring,
    receivers: Receivers,
    *,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    wall_clock_silences: bool = True,
    on_enqueue: Callable[[OutboxEntry], None] = lambda _: None,
    status_url: str | None = None,
    receiver_alerts: bool = True,
) -> NotificationService:
    """The notifier, and the deliverer that sends what it enqueues, on `wiring`'s store.

    `receiver_alerts`: raise `AlertdReceiverUnavailable` for each receiver a route names
    that cannot send (the live daemon does; a replay of history does not)."""
    return NotificationService(
        Notifier(
            config.notify,
            rules_by_name(config.ruleset),
            max_age=max_age,
            status_url=status_url,
            unavailable=config.notify.unavailable if receiver_alerts else (),
        ),
        Deliverer(
            wiring.store,
            receivers.by_name,
            wiring.clock,
            rates=receivers.rates,
            health=wiring.health,
        ),
        wiring.store,
        wiring.clock,
        on_enqueue=on_enqueue,
        wall_clock_silences=wall_clock_silences,
    )


def rules_by_name(ruleset: RuleSet) -> dict[str, Rule]:
    return {rule.name: rule for rule in ruleset.rules}


ShowTransitions = Callable[[Sequence[Transition]], None]


class Pipeline:
    """The live daemon's parts: evaluator, scheduler, notifier service and deliverer, built
    from one load, started together and reloaded together."""

    def __init__(
        self,
        paths: Sequence[Path],
        config: Config,
        receivers: Receivers,
        wiring: Wiring,
        settings: Settings,
        *,
        on_step: OnStep,
        show: ShowTransitions,
    ) -> None:
        self.paths = list(paths)
        self.config = config
        self.wiring = wiring
        self.show = show
        self.delay = dt.timedelta(seconds=settings.evaluation_delay_seconds)
        self.receivers = receivers
        # The evaluator commits alert states and says so here; the notifier, woken, reads
        # them and commits the notifications they call for.
        self.commits = Commits()
        self.service = build_notification(
            config,
            wiring,
            receivers,
            max_age=dt.timedelta(seconds=settings.notification_max_age_seconds),
            status_url=settings.external_url,
        )
        self.evaluator = Evaluator(
            config.ruleset,
            wiring.source,
            wiring.store,
            source_down_after=dt.timedelta(seconds=settings.source_down_after_seconds),
            commits=self.commits,
            health=wiring.health,
            watchdog=settings.watchdog,
        )
        self.scheduler = GroupScheduler(
            self.evaluator,
            wiring.clock,
            delay=self.delay,
            on_step=on_step,
            concurrency=settings.group_concurrency,
        )
        # Whoever asks for a reload (SIGHUP, the rules folder's watch, `POST /-/reload`),
        # its outcome is recorded here, for the metrics and the service manager.
        self.reload_status = ReloadStatus()
        self._tracked_reload = self.reload_status.tracked(self._reload, wiring.clock.now)
        self._reloading = anyio.Lock()

    @property
    def deliverer(self) -> Deliverer:
        return self.service.deliverer

    def now(self) -> dt.datetime:
        """The evaluation-time "now" that notifications and retirements use."""
        return (self.wiring.clock.now() - self.delay).replace(microsecond=0)

    async def restore(self) -> None:
        """Resume from the store, and end the alerts of rules no longer there (raises
        StoreError when the store cannot be read)."""
        await self.service.restore()
        await self.evaluator.restore()
        retired = await self.evaluator.retire(self.now())
        self.show(retired.transitions)
        warn_unavailable(self.config.notify.unavailable)  # once the start can no longer fail

    async def run_notifier(self) -> None:
        await self.service.run(
            lambda: self.evaluator.states, self.commits, self.delay, self.scheduler.ticks_done
        )

    async def reload(self) -> bool:
        return await self._tracked_reload()

    async def _reload(self) -> bool:
        """Load the rules folder again and, if rules, routes and receivers are all valid,
        swap them in between two ticks; otherwise keep what runs and log every error with
        its file and line. Whether the new set was taken.

        Rules that did not change keep their alert states and their groups' grids; the
        notification groups and their timers stay; receivers are rebuilt, so a rotated
        webhook URL is used from the next send on.
        """
        async with self._reloading:
            found = await self._validated()
            if isinstance(found, list):
                log.error("rules.reload_failed", errors=[str(e) for e in found])
                return False
            config, receivers = found
            self._swap(config, receivers)
            retired = await self.evaluator.reload(config.ruleset, self.now())
            self.scheduler.schedule(config.ruleset.groups)
            log.info(
                "rules.reloaded",
                rules=len(config.ruleset.rules),
                groups=len(config.ruleset.groups),
                receivers=sorted(receivers.by_name),
            )
            self.show(retired.transitions)
            return True

    async def _validated(self) -> tuple[Config, Receivers] | list[RuleError]:
        """The rules folder loaded afresh with its receivers built, or every error."""
        found = await load(self.paths)
        if isinstance(found, list):
            return found
        built = receivers_for(
            found, self.wiring.client, self.wiring.out, console_json=self.wiring.console_json
        )
        return built if isinstance(built, list) else (found, built)

    def _swap(self, config: Config, receivers: Receivers) -> None:
        for skipped in config.notify.skipped:
            log.info("receiver.skipped", receiver=skipped.name, reason=skipped.reason)
        self.config = config
        self.receivers = receivers
        self.service.reload(
            config.notify, rules_by_name(config.ruleset), receivers.by_name, receivers.rates
        )
