"""Analytics questions answered through the daemon's own planner, compiler and source.

A question is an ad-hoc rule without thresholds, as `alertd query` asks one: every number
an analytics endpoint returns is weighted by `_sample_interval` exactly as an alert's is,
and questions on the same dataset and grouping share one statement.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertd.errors import AlertdError, ExpressionError
from alertd.model import Labels
from alertd.query.plan import plan
from alertd.query.results import read
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset
from alertd.sources.base import Source
from alertd.sources.batch import run_plan

DATABASE = "pitchey_database_metrics"
PERFORMANCE = "pitchey_performance_metrics"
ERRORS = "pitchey_error_tracking"
# Cache hits among requests the cache could answer (DYNAMIC responses are never cached).
CACHE_HIT = 'ratio(cacheStatus == "HIT", cacheStatus in ["HIT", "MISS"])'

# Rule sets kept built: each is planned (and its SQL compiled) once, not per request.
_BUILT_SIZE = 64


class AnalyticsError(AlertdError):
    """A question could not be answered: a dataset is unknown or its query failed."""


@dataclass(frozen=True)
class Question:
    """One number per series: `value` over `dataset`, grouped by `by`, where `where` holds."""

    name: str
    dataset: str
    value: str
    by: tuple[str, ...] = ()
    where: str | None = None


# A question's answer: its value (None when it cannot be computed) for each label set.
Answer = dict[Labels, float | None]


class Asker:
    """Answers sets of questions for windows ending at a given instant."""

    def __init__(self, source: Source, datasets: Mapping[str, Dataset]) -> None:
        self._source = source
        self._datasets = datasets
        self._built: OrderedDict[tuple[tuple[Question, ...], int], tuple[Rule, ...]] = OrderedDict()

    async def ask(
        self, questions: Sequence[Question], window: dt.timedelta, at: dt.datetime
    ) -> dict[str, Answer]:
        """Each question's answer for `[at - window, at)`; AnalyticsError if any failed."""
        rules = self._rules(tuple(questions), window)
        planned = plan(rules, self._datasets, at)
        answers = await run_plan(planned, self._source)
        results = read(planned, answers)
        out: dict[str, Answer] = {}
        for question in questions:
            result = results[question.name]
            if result.error is not None:
                raise AnalyticsError(f"{question.dataset}: {result.error}")
            out[question.name] = {labels: v.value for labels, v in result.series.items()}
        return out

    def _rules(self, questions: tuple[Question, ...], window: dt.timedelta) -> tuple[Rule, ...]:
        key = (questions, int(window.total_seconds()))
        built = self._built.get(key)
        if built is None:
            built = tuple(self._rule(q, window) for q in questions)
            self._built[key] = built
            if len(self._built) > _BUILT_SIZE:
                self._built.popitem(last=False)
        self._built.move_to_end(key)
        return built

    def _rule(self, question: Question, window: dt.timedelta) -> Rule:
        dataset = self._datasets.get(question.dataset)
        if dataset is None:
            raise AnalyticsError(f"dataset {question.dataset} is not in datasets.yaml")
        try:
            return adhoc_rule(
                question.value,
                dataset,
                by=question.by,
                where=question.where,
                window=window,
                name=question.name,
            )
        except (ValueError, ExpressionError) as exc:  # a question this module got wrong
            raise AnalyticsError(f"question {question.name}: {exc}") from exc


def total(answer: Answer) -> float | None:
    """The value of an ungrouped question (its one series has no labels)."""
    return answer.get((), None)
