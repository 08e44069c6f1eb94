"""Ticks: plan a group's queries, ask the source, step the lifecycle, commit the result.

The live daemon and `alertd backtest` both drive this class; only who picks the
evaluation times differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping

import anyio
import structlog

from alertd.engine.source_health import source_step
from alertd.engine.step import Step, carry, step
from alertd.errors import QueryRejectedError, SourceError
from alertd.model import AlertState, NotifyChanges, Rows
from alertd.query.plan import Plan, PlannedQuery, plan
from alertd.query.results import read
from alertd.rules.ruleset import Group, RuleSet
from alertd.sources.base import Source
from alertd.sources.batch import run_plan
from alertd.store.base import Commit, Store

log = structlog.get_logger(__name__)


# Called with the alert states a tick is about to commit; returns what to commit with them.
Followup = Callable[[Mapping[str, AlertState], dt.datetime], Awaitable[NotifyChanges]]
# Called once a commit holding that Extra succeeded.
Committed = Callable[[NotifyChanges], None]


class Evaluator:
    """Holds the alert states between ticks; the store holds them across restarts."""

    def __init__(
        self,
        ruleset: RuleSet,
        source: Source,
        store: Store,
        *,
        source_down_after: dt.timedelta = dt.timedelta(minutes=5),
        followup: Followup | None = None,
        committed: Committed | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.source = source
        self.store = store
        self.source_down_after = source_down_after
        self.states: dict[str, AlertState] = {}
        self.unhealthy: dict[str, str] = {}
        self.followup = followup
        self.committed = committed
        # Ticks of different groups and the notification timer share the states and the
        # outbox: one commit at a time keeps each commit's view consistent.
        self.commit_lock = anyio.Lock()

    async def restore(self) -> None:
        """Resume from the store: firing stays firing, pending keeps its `for` clock."""
        self.states = await self.store.load()
        log.info("evaluator.restored", alerts=len(self.states))

    async def tick(self, group: Group, at: dt.datetime) -> Step:
        """Evaluate one group for the windows ending at `at`, and commit what changed."""
        planned = plan(group.rules, self.ruleset.datasets, at)
        answers = await run_plan(planned, self.source)
        async with self.commit_lock:
            result = step(group.rules, read(planned, answers), self.states, at)
            source_step(
                _outcomes(planned, answers), self.states, self.source_down_after, at, result
            )
            after = carry(self.states, result)
            extra = await self.followup(after, at) if self.followup else NotifyChanges()
            await self.store.commit(
                Commit(
                    at=at,
                    group=group.name,
                    states=tuple(result.states.values()),
                    removed=tuple(result.removed),
                    transitions=tuple(result.transitions),
                    points=tuple(result.points),
                    groups=extra.groups,
                    dropped_groups=extra.dropped_groups,
                    outbox=extra.outbox,
                )
            )
            # Only a committed step moves the states: a failed commit is redone next tick.
            self.states = after
            if self.committed:
                self.committed(extra)
        for rule in group.rules:
            self.unhealthy.pop(rule.name, None)
        self.unhealthy.update(result.unhealthy)
        log.info(
            "tick.done",
            group=group.name,
            at=at.isoformat(),
            queries=len(planned.queries),
            transitions=len(result.transitions),
            unhealthy=len(result.unhealthy),
        )
        return result


def _outcomes(
    plan_: Plan, answers: Mapping[PlannedQuery, Rows | SourceError]
) -> dict[str, str | None]:
    outcomes: dict[str, str | None] = {}
    for planned in plan_.queries:
        answer = answers.get(planned)
        # A rejected query is the rule's fault, not the source's: it makes the rule unhealthy.
        failed = isinstance(answer, SourceError) and not isinstance(answer, QueryRejectedError)
        error = answer.message if failed and isinstance(answer, SourceError) else None
        if outcomes.get(planned.key.dataset) is None:
            outcomes[planned.key.dataset] = error
    return outcomes
