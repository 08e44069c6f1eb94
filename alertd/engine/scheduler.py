"""One task per rule group ticks it on its grid, on the injected clock: never overlapping,
never between grid points, misses counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from alertd.clock import Clock
from alertd.engine.evaluator import Evaluator
from alertd.engine.step import Step
from alertd.engine.timing import evaluation_time, next_evaluation
from alertd.rules.ruleset import Group

log = structlog.get_logger(__name__)

OnStep = Callable[[Group, Step], Awaitable[None]]


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
    ) -> None:
        self.evaluator = evaluator
        self.clock = clock
        self.delay = delay
        self.on_step = on_step
        self.missed = 0
        self.last_at: dict[str, dt.datetime] = {}
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._running = 0
        self._idle = anyio.Event()
        self._idle.set()
        # Set, and replaced, as each tick ends; and each group's next grid point.
        self._ticked = anyio.Event()
        self._due: dict[str, dt.datetime] = {}
        self._groups: dict[str, Group] = {}
        self._loops: dict[str, anyio.CancelScope] = {}
        self._busy: dict[str, anyio.Lock] = {}
        self._tasks: TaskGroup | None = None
        self._stopped = False

    async def run(
        self, groups: Sequence[Group], *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Tick `groups` until `shutdown` (start it with `task_group.start`)."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            self.schedule(groups)
            task_status.started()
            if self._stopped:
                tasks.cancel_scope.cancel()
            await anyio.sleep_forever()

    def schedule(self, groups: Sequence[Group]) -> None:
        """Take `groups` as the groups to tick (a reload calls this too).

        A group whose interval is unchanged keeps its task, so its grid and its last tick
        carry over and it takes the new rules at its next tick; a group gone stops after
        its tick in flight; a new group, or one with a new interval, starts on its grid.
        """
        wanted = {group.name: group for group in groups}
        if len(wanted) != len(groups):  # the loader keeps names unique; one would never tick
            raise ValueError(f"group names repeat: {sorted(g.name for g in groups)}")
        for name, loop in list(self._loops.items()):
            if name not in wanted or wanted[name].interval != self._groups[name].interval:
                loop.cancel()
                del self._loops[name]
                self._due.pop(name, None)
                if name not in wanted:
                    self.last_at.pop(name, None)
        self._groups = wanted
        if self._tasks is None or self._stopped:
            return
        for name in wanted:
            if name not in self._loops:
                self._loops[name] = anyio.CancelScope()
                self._tasks.start_soon(self._loop, name, self._loops[name], name=f"group {name}")

    async def _loop(self, name: str, scope: anyio.CancelScope) -> None:
        with scope:
            interval = self._groups[name].interval
            # The first grid point at or after `now - delay`: never one between grid points.
            due = next_evaluation(self.clock.now(), interval, self.delay)
            while True:
                self._due[name] = due
                await self.clock.sleep_until(due + self.delay)
                with anyio.CancelScope(shield=True):  # a stop lets the tick finish
                    await self.run_group(self._groups[name])
                # The next grid point after now: after a tick that overran its interval,
                # the tick there counts the ones passed by.
                due = evaluation_time(self.clock.now(), interval, self.delay) + interval

    async def run_group(self, group: Group) -> None:
        """One tick of one group; a bug is logged with context and the schedule goes on."""
        self._running += 1
        self._idle = anyio.Event()
        try:
            async with self._busy.setdefault(group.name, anyio.Lock()), self._limiter:
                await self._tick(group)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()
            self._ticked.set()
            self._ticked = anyio.Event()

    async def _tick(self, group: Group) -> None:
        at = evaluation_time(self.clock.now(), group.interval, self.delay)
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

    async def ticks_done(self, at: dt.datetime) -> None:
        """Return when every group has ticked at its grid points up to evaluation time
        `at` and no tick is in flight."""
        while self._running or any(due <= at for due in self._due.values()):
            await self._ticked.wait()

    async def shutdown(self) -> None:
        """Stop scheduling and wait for the ticks in flight to finish."""
        self._stopped = True
        for loop in self._loops.values():
            loop.cancel()
        self._loops.clear()
        self._due.clear()
        self._ticked.set()
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
        await self._idle.wait()
