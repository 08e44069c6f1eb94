"""Ticks: plan a group's queries, ask the source, step the lifecycle, commit the result.

The live daemon and `alertd backtest` both drive this class; only who picks the
evaluation times differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping

import anyio
import structlog

from alertd.engine.source_health import RULE_ALERT, SOURCE_ALERT, health_step, source_step
from alertd.engine.step import Step, carry, retire, step
from alertd.errors import QueryRejectedError, SourceError, UnsafeLiteralError
from alertd.model import AlertState, NotifyChanges, Rows
from alertd.query.plan import Plan, PlanError, PlannedQuery, plan
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

    async def retire(self, at: dt.datetime) -> Step:
        """End the alerts of rules that no longer exist, and source alerts of datasets no
        rule reads; called after a restore and after every reload."""
        rules = {rule.name for rule in self.ruleset.rules}
        datasets = {d for rule in self.ruleset.rules for d in rule.datasets}

        def keep(state: AlertState) -> bool:
            if state.rule == SOURCE_ALERT:
                return dict(state.labels).get("dataset") in datasets
            if state.rule == RULE_ALERT:
                return dict(state.labels).get("rule") in rules
            return state.rule in rules

        async with self.commit_lock:
            result = retire(self.states, keep, at, "rule removed")
            if result.transitions:
                await self._commit("retire", at, result)
                log.info("evaluator.retired", alerts=len(result.transitions))
        return result

    async def tick(self, group: Group, at: dt.datetime) -> Step:
        """Evaluate one group for the windows ending at `at`, and commit what changed."""
        try:
            planned = plan(group.rules, self.ruleset.datasets, at)
        except (PlanError, UnsafeLiteralError) as exc:
            # `alertd check` refuses such rules; should one slip through, the group is
            # reported unhealthy instead of stopping every tick.
            log.error("tick.unplannable", group=group.name, error=str(exc))
            self._mark_unhealthy(group, {rule.name: str(exc) for rule in group.rules})
            return Step(unhealthy={rule.name: str(exc) for rule in group.rules})
        answers = await run_plan(planned, self.source)
        async with self.commit_lock:
            result = step(group.rules, read(planned, answers), self.states, at)
            down_after = self.source_down_after
            source_step(_outcomes(planned, answers), self.states, down_after, at, result)
            rejected = _rejections(group, planned, answers)
            health_step(RULE_ALERT, "rule", rejected, self.states, down_after, at, result)
            await self._commit(group.name, at, result)
        self._mark_unhealthy(group, result.unhealthy)
        log.info(
            "tick.done",
            group=group.name,
            at=at.isoformat(),
            queries=len(planned.queries),
            transitions=len(result.transitions),
            unhealthy=sorted(result.unhealthy),
        )
        for rule_name, error in result.unhealthy.items():
            log.warning("rule.unhealthy", rule=rule_name, group=group.name, error=error[:300])
        return result

    async def _commit(self, name: str, at: dt.datetime, result: Step) -> None:
        """Commit a step with what the followup adds; only then do the states move, so a
        failed commit is simply redone by the next tick. Holds `commit_lock` (caller)."""
        after = carry(self.states, result)
        extra = await self.followup(after, at) if self.followup else NotifyChanges()
        await self.store.commit(
            Commit(
                at=at,
                group=name,
                states=tuple(result.states.values()),
                removed=tuple(result.removed),
                transitions=tuple(result.transitions),
                points=tuple(result.points),
                groups=extra.groups,
                dropped_groups=extra.dropped_groups,
                outbox=extra.outbox,
            )
        )
        self.states = after
        if self.committed:
            self.committed(extra)

    def _mark_unhealthy(self, group: Group, unhealthy: Mapping[str, str]) -> None:
        for rule in group.rules:
            self.unhealthy.pop(rule.name, None)
        self.unhealthy.update(unhealthy)


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


def _rejections(
    group: Group, plan_: Plan, answers: Mapping[PlannedQuery, Rows | SourceError]
) -> dict[str, str | None]:
    """Each rule of the group, with the refusal its SQL got (a 422), or None."""
    refused: dict[str, str] = {}
    for planned in plan_.queries:
        answer = answers.get(planned)
        if isinstance(answer, QueryRejectedError):
            for name in planned.query.rules:
                refused.setdefault(name, answer.message)
    return {rule.name: refused.get(rule.name) for rule in group.rules}
