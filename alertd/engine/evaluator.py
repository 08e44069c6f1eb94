"""Ticks: plan a group's queries, ask the source, step the lifecycle, commit the result.

The live daemon and `alertd backtest` both drive this class; only who picks the
evaluation times differs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import anyio
import structlog

from alertd.engine.freshness import Fill, LagEstimator
from alertd.engine.source_health import (
    LAG_ALERT,
    RULE_ALERT,
    SOURCE_ALERT,
    dataset_owners,
    health_step,
    lag_step,
    source_step,
)
from alertd.engine.step import Step, carry, fits, retire, step
from alertd.engine.watchdog import watchdog_step
from alertd.errors import (
    LeaseLostError,
    QueryRejectedError,
    SourceError,
    StoreError,
    UnsafeLiteralError,
)
from alertd.model import WATCHDOG_ALERT, AlertState, Rows
from alertd.query.plan import BEFORE_END, SCANNED, Plan, PlanError, PlannedQuery, plan
from alertd.query.results import read
from alertd.rules.ruleset import Group, Rule, RuleSet
from alertd.sources.base import RecordSource, Source
from alertd.sources.batch import run_plan
from alertd.sources.declared import RecordSources
from alertd.store.base import AlertStates, Commit
from alertd.store.commits import Commits
from alertd.store.health import StateHealth
from alertd.store.ownership import NOTIFY_LEASE, Ownership, SoleOwner

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class GroupEvaluation:
    """A group's last tick, as the HTTP API and metrics show it: when it evaluated, how
    long it took (event-loop seconds), and each SQL statement with the rules it answers."""

    at: dt.datetime
    duration_seconds: float
    queries: tuple[tuple[str, tuple[str, ...]], ...]


class Evaluator:
    """Holds the alert states between ticks; the store holds them across restarts."""

    def __init__(
        self,
        ruleset: RuleSet,
        source: Source,
        store: AlertStates,
        *,
        source_down_after: dt.timedelta = dt.timedelta(minutes=5),
        commits: Commits | None = None,
        health: StateHealth | None = None,
        watchdog: bool = False,
        ownership: Ownership | None = None,
        declared: RecordSources | None = None,
        freshness: LagEstimator | None = None,
    ) -> None:
        self.ruleset = ruleset
        # Retiring alerts is the leader's (the notification pipeline's holder) alone.
        self.ownership = ownership if ownership is not None else SoleOwner()
        # Sources besides AE that rules name with `source:`, for the declarations loaded now
        # (DeclaredSources.current in the daemon); None when nothing can build them.
        self.declared = declared
        # Each dataset's ingest lag, read from every tick's answers; None: not measured.
        self.freshness = freshness
        # Whether `AlertdWatchdog` fires (from the first retirement, i.e. the start, on).
        self.watchdog = watchdog
        self.source = source
        self.store = store
        self.source_down_after = source_down_after
        self.states: dict[str, AlertState] = {}
        self.unhealthy: dict[str, str] = {}
        # Told of every commit: the notifier reads the states it left in the store.
        self.commits = commits if commits is not None else Commits()
        self.health = health if health is not None else StateHealth()
        # Ticks of different groups share the states: one commit at a time keeps each
        # commit's view consistent.
        self.commit_lock = anyio.Lock()
        self._owners_of: tuple[RuleSet | None, Mapping[str, str]] = (None, {})
        # The groups whose states the store holds as this memory does, so a commit writes
        # only what changed: each group's first commit writes all of its states, and so
        # does the next after one the store may or may not have applied.
        self._in_step_with_store: set[str] = set()
        # Whether a retirement the store could not commit waits for the next tick.
        self._unretired = False
        # Read by the HTTP API and metrics: each group's last tick, and how many ticks in
        # a row each dataset's queries have failed (0 once it answers).
        self.evaluations: dict[str, GroupEvaluation] = {}
        self.dataset_failures: dict[str, int] = {}

    def _record_sources(self) -> Mapping[str, RecordSource]:
        return self.declared(self.ruleset.sources) if self.declared is not None else {}

    def _judged(self, group: Group) -> Group:
        """The group's rules this evaluator can judge: without a way to ask the declared
        sources (a backtest: they keep no history), rules on them are left out, neither
        unhealthy nor a source outage."""
        if self.declared is not None or not self.ruleset.sources:
            return group
        rules = tuple(r for r in group.rules if not set(r.datasets) & set(self.ruleset.sources))
        return group if len(rules) == len(group.rules) else dataclasses.replace(group, rules=rules)

    async def restore(self) -> None:
        """Resume from the store: firing stays firing, pending keeps its `for` clock."""
        self.states = await self.store.load()
        self._in_step_with_store.clear()
        log.info("evaluator.restored", alerts=len(self.states))

    async def adopt(self) -> None:
        """Take the states in the store as they are: another replica worked a group this
        one now ticks, and committed its `for` timers and firing alerts there."""
        async with self.commit_lock:
            self.states = await self.store.load()
            self._in_step_with_store.clear()
        log.info("evaluator.adopted", alerts=len(self.states))

    async def reload(self, ruleset: RuleSet, at: dt.datetime) -> Step:
        """Take `ruleset` between two commits and end the alerts it no longer owns.

        Alerts of rules that are still there keep their states; a tick in flight commits
        only its rules that are unchanged (`current`)."""
        async with self.commit_lock:
            self.ruleset = ruleset
            if self.ownership.shared:
                await self._reread_states()
            return await self._retire(at)

    async def _reread_states(self) -> None:
        """With replicas, a reload may move a rule into a group this one holds, whose
        alerts another replica judged since this one last read them: read them again.
        Holds `commit_lock`. A store that cannot answer leaves the memory as it is, and
        every group's next commit writes all of its states."""
        self._in_step_with_store.clear()
        try:
            self.states = await self.store.load()
        except StoreError as exc:
            self.health.read_failed("reload", exc)

    async def retire(self, at: dt.datetime) -> Step:
        """End the alerts of rules that no longer exist or whose identity changed, and the
        source alerts of datasets no rule reads; called after a restore and every reload."""
        async with self.commit_lock:
            return await self._retire(at)

    async def _retire(self, at: dt.datetime) -> Step:
        """`retire`, holding `commit_lock`. A store that cannot commit it leaves it to the
        next tick: a reload goes on, and the old alerts still end once the store writes."""
        if self.ownership.token(NOTIFY_LEASE) is None:
            self._unretired = True  # the leader retires; this one does if it leads later
            return Step()
        try:
            states = await self._retirable()
        except StoreError as exc:
            self.health.read_failed("retire", exc)
            self._unretired = True
            return Step()
        result = retire(states, retirement(self.ruleset, watchdog=self.watchdog), at)
        if self.watchdog:
            watchdog_step(states, at, result)
        self._unretired = False
        if result.transitions:
            if not await self._commit("retire", "retire", at, result):
                self._unretired = True
                return Step()
            log.info("evaluator.retired", alerts=len(result.transitions))
        return result

    async def _retirable(self) -> Mapping[str, AlertState]:
        """The alerts a retirement judges: with replicas, every replica's, as the store
        holds them (this one's memory knows only its own groups' since it took them), so
        any leader retires what another would have; alone, its own."""
        if not self.ownership.shared:
            return self.states
        return await self.store.load()

    async def tick(self, group: Group, at: dt.datetime, *, now: dt.datetime | None = None) -> Step:
        """Evaluate one group for the windows ending at `at`, and commit what changed.

        With `now` (the wall clock), the statements scan on to it to find each dataset's
        newest row: how late its rows land."""
        group = self._judged(group)
        started = anyio.current_time()
        now = now if self.freshness is not None else None
        try:
            planned = plan(group.rules, self.ruleset.datasets, at, now)
        except (PlanError, UnsafeLiteralError) as exc:
            # `alertd check` refuses such rules; should one slip through, the group is
            # reported unhealthy instead of stopping every tick.
            log.error("tick.unplannable", group=group.name, error=str(exc))
            self._mark_unhealthy(group, {rule.name: str(exc) for rule in group.rules})
            return Step(unhealthy={rule.name: str(exc) for rule in group.rules})
        records = self._record_sources()
        answers = await run_plan(planned, self.source, records)
        self._count_outcomes(planned, answers)
        if now is not None:
            self._observe_lag(planned, answers, now.replace(microsecond=0))
        async with self.commit_lock:
            if self._unretired:
                await self._retire(at)
            result = self._step(group, planned, answers, at)
            if not await self._commit(group.name, f"tick {group.name}", at, result):
                # Nothing moved: the next tick judges again from the states as they were.
                log.warning("tick.not_committed", group=group.name, at=at.isoformat())
                return Step()
        self._mark_unhealthy(group, result.unhealthy)
        self.evaluations[group.name] = GroupEvaluation(
            at,
            anyio.current_time() - started,
            tuple((p.query.sql, p.query.rules) for p in planned.queries),
        )
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

    def _step(
        self,
        group: Group,
        planned: Plan,
        answers: Mapping[PlannedQuery, Rows | SourceError],
        at: dt.datetime,
    ) -> Step:
        """The tick's step for the rules that are still current. Holds `commit_lock`.

        A reload may have replaced the rules while the queries ran: a rule it removed or
        changed must not be revived or judged by its old definition.
        """
        rules = current(group.rules, self.ruleset)
        if len(rules) < len(group.rules):
            log.info("tick.rules_reloaded", group=group.name, dropped=len(group.rules) - len(rules))
        result = step(rules, read(planned, answers), self.states, at, interval=group.interval)
        outcomes = {d: e for d, e in _outcomes(planned, answers).items() if self._judges(d, group)}
        down_after = self.source_down_after
        source_step(outcomes, self.states, down_after, at, result)
        rejected = _rejections(rules, planned, answers)
        health_step(RULE_ALERT, "rule", rejected, self.states, down_after, at, result)
        if self.freshness is not None:
            seen = {d for d in outcomes if outcomes[d] is None}
            lag_step(self.freshness, seen, self.states, down_after, at, result)
        return result

    def _judges(self, dataset: str, group: Group) -> bool:
        """Whether `group`'s tick advances `dataset`'s own alerts. Alone on its store, any
        tick reading it does (one process holds every state); with replicas, only its
        owner's, so one replica writes them, fenced by that group's lease."""
        if not self.ownership.shared:
            return dataset in self._owners()
        return self._owners().get(dataset) == group.name

    def _owners(self) -> Mapping[str, str]:
        """`dataset_owners` of the current rule set, worked out once per rule set: every
        tick asks it for each dataset it read."""
        ruleset, owners = self._owners_of
        if ruleset is not self.ruleset:
            owners = dataset_owners([self._judged(g) for g in self.ruleset.groups])
            self._owners_of = (self.ruleset, owners)
        return owners

    async def _commit(self, name: str, what: str, at: dt.datetime, result: Step) -> bool:
        """Commit a step; only then do the states move, so a failed commit is simply
        redone by the next tick. Whether it committed; the state health hears either way
        (at error, `what` could not be recorded, and why). Holds `commit_lock` (caller)."""
        after = carry(self.states, result)
        in_step = name in self._in_step_with_store
        # Until it answers, the store may or may not apply this commit (a connection lost
        # during COMMIT): the next commit cannot rely on what it holds.
        self._in_step_with_store.discard(name)
        try:
            await self.store.commit(
                Commit(
                    at=at,
                    group=name,
                    states=result.to_write(self.states, store_holds_before=in_step),
                    removed=tuple(result.removed),
                    evaluated=tuple(result.evaluated),
                    transitions=tuple(result.transitions),
                    points=tuple(result.points),
                )
            )
        except LeaseLostError as exc:
            # Another replica took the group over: not a store in trouble.
            log.info("tick.lease_lost", what=what, error=str(exc))
            return False
        except StoreError as exc:
            self.health.write_failed(what, exc, at)
            return False
        self.states = after
        self._in_step_with_store.add(name)
        self.commits.committed()
        self.health.wrote(at)
        return True

    def _observe_lag(
        self, planned: Plan, answers: Mapping[PlannedQuery, Rows | SourceError], now: dt.datetime
    ) -> None:
        assert self.freshness is not None
        for dataset, (newest, fill) in newest_rows(planned, answers).items():
            self.freshness.observe(dataset, newest, now, fill)

    def _count_outcomes(
        self, planned: Plan, answers: Mapping[PlannedQuery, Rows | SourceError]
    ) -> None:
        for dataset, error in _outcomes(planned, answers).items():
            failed = self.dataset_failures.get(dataset, 0) + 1 if error is not None else 0
            self.dataset_failures[dataset] = failed

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


def newest_rows(
    plan_: Plan, answers: Mapping[PlannedQuery, Rows | SourceError]
) -> dict[str, tuple[dt.datetime | None, Fill | None]]:
    """Each answered dataset's newest timestamp (None when no row was there), and the fill
    past the windows' end of its statement that scanned the most rows."""
    found: dict[str, tuple[dt.datetime | None, Fill | None]] = {}
    for planned in plan_.queries:
        answer = answers.get(planned)
        column = planned.query.newest
        if column is None or not isinstance(answer, Rows):
            continue
        times = [cell for row in answer.data if isinstance(cell := row.get(column), dt.datetime)]
        known, fill = found.get(planned.key.dataset, (None, None))
        newest = max([*times, *([known] if known else [])], default=None)
        seen = _fill(planned, answer, plan_.at)
        if fill is None or (seen is not None and seen.before > fill.before):
            fill = seen
        found[planned.key.dataset] = (newest, fill)
    return found


def _fill(planned: PlannedQuery, answer: Rows, at: dt.datetime) -> Fill | None:
    if planned.window is None:
        return None
    scanned = sum(_count(row.get(SCANNED)) for row in answer.data)
    before = sum(_count(row.get(BEFORE_END)) for row in answer.data)
    return Fill(at, planned.window, before, scanned - before)


def _count(cell: object) -> int:
    return int(cell) if isinstance(cell, int | float) else 0


def _rejections(
    rules: Sequence[Rule], plan_: Plan, answers: Mapping[PlannedQuery, Rows | SourceError]
) -> dict[str, str | None]:
    """Each rule whose queries got an answer, with the refusal its SQL got (a 422) or None.

    A rule with a query that failed otherwise (the source was down) is left out: that tick
    says nothing about whether its SQL is accepted.
    """
    refused: dict[str, str] = {}
    unanswered: set[str] = set()
    for planned in plan_.queries:
        answer = answers.get(planned)
        for name in planned.query.rules:
            if isinstance(answer, QueryRejectedError):
                refused.setdefault(name, answer.message)
            elif not isinstance(answer, Rows):
                unanswered.add(name)
    return {
        rule.name: refused.get(rule.name)
        for rule in rules
        if rule.name in refused or rule.name not in unanswered
    }


def retirement(ruleset: RuleSet, *, watchdog: bool = False) -> Callable[[AlertState], str | None]:
    """Why `ruleset` (and the watchdog setting) no longer own an alert, or None when they do."""
    rules = {rule.name: rule for rule in ruleset.rules}
    datasets = {d for rule in ruleset.rules for d in rule.datasets}

    def why(state: AlertState) -> str | None:
        if state.rule == WATCHDOG_ALERT:
            return None if watchdog else "the watchdog is off"
        if state.rule in (SOURCE_ALERT, LAG_ALERT):
            used = dict(state.labels).get("dataset") in datasets
            return None if used else "no rule reads the dataset"
        name = dict(state.labels).get("rule") if state.rule == RULE_ALERT else state.rule
        rule = rules.get(name or "")
        if rule is None:
            return "rule removed"
        if state.rule == RULE_ALERT or fits(rule, state.labels):
            return None
        return "rule changed its labels"

    return why


def current(rules: Sequence[Rule], ruleset: RuleSet) -> list[Rule]:
    """The rules still in `ruleset` with the same definition (moving a rule in its file
    changes nothing)."""
    now = {rule.name: rule for rule in ruleset.rules}
    return [
        rule
        for rule in rules
        if (found := now.get(rule.name)) is rule
        or (found is not None and dataclasses.replace(found, location=rule.location) == rule)
    ]
