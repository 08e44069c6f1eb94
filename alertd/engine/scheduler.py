"""apscheduler drives one job per rule group: coalesced, never overlapping, misses counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

import anyio
import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from alertd.clock import Clock, SystemClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.step import Step
from alertd.engine.timing import evaluation_time, next_evaluation
from alertd.rules.ruleset import Group

log = structlog.get_logger(__name__)

OnStep = Callable[[Group, Step], Awaitable[None]]
TIMER_SLACK = dt.timedelta(milliseconds=50)


class GroupScheduler:
    """Ticks each group at its interval, evaluating at `now - delay` on the group's grid."""

    def __init__(
        self,
        evaluator: Evaluator,
        clock: Clock,
        *,
        delay: dt.timedelta,
        on_step: OnStep,
        concurrency: int = 2,
        speed: float = 1.0,
        wall: Clock | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.clock = clock
        self.delay = delay
        self.on_step = on_step
        self.speed = speed  # clock seconds per wall-clock second (the demo runs faster)
        self.missed = 0
        self.last_at: dict[str, dt.datetime] = {}
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._running = 0
        self._idle = anyio.Event()
        self._idle.set()
        # apscheduler runs on the wall clock whatever clock evaluation uses.
        self._wall = wall or SystemClock()
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def start(self, groups: Sequence[Group]) -> None:
        self.schedule(groups)
        self._scheduler.start()

    def schedule(self, groups: Sequence[Group]) -> None:
        """Replace the jobs with one per group (a reload calls this too)."""
        self._scheduler.remove_all_jobs()
        for group in groups:
            self._scheduler.add_job(
                self.run_group,
                self.trigger(group),
                args=[group],
                id=group.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(group.interval.total_seconds() / self.speed)),
            )

    def trigger(self, group: Group) -> IntervalTrigger:
        """Fires, on the wall clock, exactly when `now - delay` reaches each grid point.

        Anchored to the grid rather than to the moment of scheduling, so no tick lands
        between grid points and none is skipped.
        """
        now, wall_now = self.clock.now(), self._wall.now()
        first = next_evaluation(now, group.interval, self.delay) + self.delay
        wall_first = wall_now + (first - now) / self.speed
        return IntervalTrigger(
            seconds=group.interval.total_seconds() / self.speed,
            start_date=wall_first,
            timezone=dt.UTC,
        )

    async def run_group(self, group: Group) -> None:
        """One tick of one group; a bug is logged with context and the schedule goes on."""
        self._running += 1
        self._idle = anyio.Event()
        try:
            async with self._limiter:
                await self._tick(group)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def _tick(self, group: Group) -> None:
        # A timer may fire a hair before its instant (rounding, a scaled clock): that tick
        # belongs to the grid point it was scheduled for, not to the one before.
        at = evaluation_time(self.clock.now() + TIMER_SLACK, group.interval, self.delay)
        last = self.last_at.get(group.name)
        if last is not None and at <= last:
            return  # already evaluated this grid point
        if last is not None and at - last > group.interval:
            skipped = int((at - last) / group.interval) - 1
            self.missed += skipped
            log.warning("tick.missed", group=group.name, skipped=skipped, at=at.isoformat())
        try:
            step = await self.evaluator.tick(group, at)
        except Exception:
            log.exception("tick.bug", group=group.name, at=at.isoformat())
            return
        self.last_at[group.name] = at
        try:
            await self.on_step(group, step)
        except Exception:
            log.exception("tick.output_bug", group=group.name, at=at.isoformat())

    def _on_missed(self, event: JobExecutionEvent) -> None:
        self.missed += 1
        log.warning("tick.missed", group=event.job_id, code=event.code)

    async def shutdown(self) -> None:
        """Stop scheduling and wait for the ticks in flight to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self._idle.wait()
