"""A small timeline helper: feed a rule one value per tick, read back its transitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from alertd.engine.step import carry, step
from alertd.model import AlertState, Change, Labels, Transition
from alertd.query.results import RuleResult, SeriesValue
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule, RuleSet

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
DATASETS = """\
datasets:
  db:
    blobs: [table, status]
    doubles: [duration]
"""


def make_rule(tmp_path: Path, body: str) -> Rule:
    """A rule from YAML lines (indented as list items of `rules:`), on dataset `db`."""
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "r.yaml").write_text("group: g\nrules:\n  - alert: R\n    dataset: db\n" + body)
    result = load([tmp_path])
    assert result.errors == [], result.errors
    (rule,) = result.ruleset.rules
    return rule


Tick = float | None | str | dict[Labels, SeriesValue]
"""A tick's input: a value (one unlabelled series, 100 samples), None (series absent),
"error" (the query failed), or the full series mapping."""


class Timeline:
    """Runs `step` tick by tick on a fixed interval, keeping states like the evaluator does."""

    def __init__(self, rule: Rule, interval: dt.timedelta = dt.timedelta(seconds=30)) -> None:
        self.rule = rule
        self.interval = interval
        self.states: dict[str, AlertState] = {}
        self.transitions: list[Transition] = []
        self.now = T0

    def feed(self, ticks: Iterable[Tick]) -> list[Transition]:
        produced: list[Transition] = []
        for tick in ticks:
            result = self._result(tick)
            outcome = step(
                [self.rule],
                {self.rule.name: result},
                self.states,
                self.now,
                interval=self.interval,
            )
            self.states = carry(self.states, outcome)
            produced.extend(outcome.transitions)
            self.now += self.interval
        self.transitions.extend(produced)
        return produced

    def _result(self, tick: Tick) -> RuleResult:
        if tick == "error":
            return RuleResult(self.rule, error="HTTP 503")
        if isinstance(tick, dict):
            return RuleResult(self.rule, dict(tick))
        if tick is None:
            return RuleResult(self.rule, {})
        assert not isinstance(tick, str)
        return RuleResult(self.rule, {(): SeriesValue(tick, 100)})

    def at(self, tick_index: int) -> dt.datetime:
        return T0 + tick_index * self.interval


def changes(transitions: Sequence[Transition]) -> list[tuple[int, str, str | None]]:
    """(tick index, change, severity) of each transition, for compact assertions."""
    return [
        (
            int((t.at - T0) / dt.timedelta(seconds=30)),
            t.change.value,
            t.severity.value if t.severity else None,
        )
        for t in transitions
    ]


def pages(transitions: Sequence[Transition]) -> int:
    """Notifications these transitions would cause: firing, severity changes and resolves."""
    paged = {Change.FIRING, Change.ESCALATED, Change.DEESCALATED, Change.RESOLVED}
    return sum(1 for t in transitions if t.change in paged)


def make_ruleset(tmp_path: Path, body: str, interval: str = "30s") -> RuleSet:
    """A rule set of one group `g` at `interval` holding rule `R`, on dataset `db`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    head = f"group: g\ninterval: {interval}\nrules:\n  - alert: R\n    dataset: db\n"
    (tmp_path / "r.yaml").write_text(head + body)
    result = load([tmp_path])
    assert result.errors == [], result.errors
    return result.ruleset
