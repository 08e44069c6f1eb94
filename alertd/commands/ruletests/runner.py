"""Runs one test case: its points into an in-process emulator, then the rules over them
through the evaluator, lifecycle and notifier the daemon uses, on a fake clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import httpx
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.app import create_app
from alertd.emulator.points import Point
from alertd.emulator.storage import ChdbStorage
from alertd.engine.backtest import backtest
from alertd.engine.evaluator import Evaluator
from alertd.errors import Location, RuleError
from alertd.model import AlertState, OutboxEntry, Status
from alertd.notify.config import NotifyConfig
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.service import NotificationService
from alertd.rules.durations import format_duration
from alertd.rules.ruleset import RuleSet
from alertd.rules.schema import Dataset
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.memory import MemoryStore

from .compare import (
    difference,
    expected_alert,
    expected_notification,
    found_alert,
    found_notification,
    in_order,
)
from .scripted import scripted_sources
from .spec import Case, Series

ACCOUNT, TOKEN = "rule-tests", "rule-tests"
# Replayed notifications carry the replay's times; none may expire because of its age.
NO_EXPIRY = dt.timedelta(days=3650)


@dataclasses.dataclass
class Outcome:
    """A case's name and what differed, one block of text each; passed when empty."""

    name: str
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def points(
    case: Case,
    datasets: Mapping[str, Dataset],
    start: dt.datetime,
    file: str,
    sources: Mapping[str, object] | None = None,
) -> dict[str, list[Point]]:
    """The rows each dataset gets, by the names datasets.yaml gives its columns."""
    out: dict[str, list[Point]] = {}
    sources = sources or {}
    for number, series in enumerate(case.input):
        where = f"input[{number}]"
        dataset = datasets.get(series.dataset)
        if dataset is None:
            known = ", ".join(sorted(datasets)) or "none"
            raise RuleError(
                Location(file),
                f"{case.name}: {where}.dataset: no dataset {series.dataset!r} (known: {known})",
            )
        if series.dataset in sources:
            continue  # the source's answers, replayed by ScriptedSource
        out.setdefault(series.dataset, []).extend(_rows(series, dataset, start, file, case, where))
    return out


def _rows(
    series: Series, dataset: Dataset, start: dt.datetime, file: str, case: Case, where: str
) -> list[Point]:
    blobs: dict[int, str] = {}
    index = ""
    for name, value in series.blobs.items():
        column = _column(dataset, name, "blob", file, case, f"{where}.blobs.{name}")
        if column == "index1":
            index = value
        else:
            blobs[int(column.removeprefix("blob"))] = value
    doubles: dict[int, list[float | None]] = {}
    for name, values in series.values.items():
        column = _column(dataset, name, "double", file, case, f"{where}.values.{name}")
        doubles[int(column.removeprefix("double"))] = values
    steps = max((len(v) for v in doubles.values()), default=1)
    blob_row = tuple(blobs.get(n, "") for n in range(1, max(blobs, default=0) + 1))
    rows: list[Point] = []
    for step in range(steps):
        at = start + step * series.every
        row = {n: v[step] if step < len(v) else None for n, v in doubles.items()}
        if doubles and all(value is None for value in row.values()):
            continue  # `_`: no point at this step
        double_row = tuple(row.get(n) or 0.0 for n in range(1, max(doubles, default=0) + 1))
        point = Point(at, index, blob_row, double_row, series.sample_interval)
        rows.extend([point] * series.rows)
    return rows


def _column(dataset: Dataset, name: str, kind: str, file: str, case: Case, where: str) -> str:
    field = dataset.field(name)
    if field is None or not (field.column.startswith(kind) or field.column == "index1"):
        names = sorted(
            n for n, f in dataset.fields.items() if f.column.startswith(kind) or kind == "blob"
        )
        raise RuleError(
            Location(file),
            f"{case.name}: {where}: {dataset.name} has no {kind} {name!r} "
            f"(its {kind}s: {', '.join(names)})",
        )
    return field.column


async def run_case(
    case: Case,
    ruleset: RuleSet,
    config: NotifyConfig,
    storage: ChdbStorage,
    start: dt.datetime,
    file: str,
) -> Outcome:
    storage.reset()
    written = points(case, ruleset.datasets, start, file, ruleset.sources)
    for dataset in set(ruleset.datasets) - set(ruleset.sources):  # no input: there, empty
        storage.create(dataset)
        storage.write(dataset, written.get(dataset, []))
    clock = FakeClock(start)
    store = MemoryStore(supersede=False)
    queued: list[OutboxEntry] = []
    service = NotificationService(
        Notifier(config, {r.name: r for r in ruleset.rules}, max_age=NO_EXPIRY),
        Deliverer(store, {}, clock),
        store,
        clock,
        wall_clock_silences=False,
        on_enqueue=queued.append,
    )
    seen: list[tuple[dt.datetime, dict[str, AlertState]]] = []

    async def after(evaluator: Evaluator, at: dt.datetime, ticked: bool) -> None:
        # The notifier's steps, as in a replay: at each group timer before a tick, then
        # at the tick; at the end, at the timers that expire by then.
        if not ticked:
            await service.catch_up(evaluator.states, at)
            return
        seen.append((at, dict(evaluator.states)))
        await service.catch_up(evaluator.states, at - dt.timedelta(microseconds=1))
        await service.flush(evaluator.states, at)

    ends = [e.at for e in case.eval] + [n.at for n in case.notifications or [] if n.at]
    end = start + (case.until or max(ends, default=dt.timedelta(0)))
    transport = httpx.ASGITransport(app=create_app(storage, TOKEN, clock=clock))
    async with httpx.AsyncClient(transport=transport) as client:
        source = AnalyticsEngineSource(
            "http://emulator/client/v4",
            ACCOUNT,
            SecretStr(TOKEN),
            sleep=clock.sleep,
            client=client,
            retries=0,
        )
        scripted = scripted_sources(ruleset.sources, case.input, start)
        await backtest(
            ruleset, source, start, end, store=store, after=after, declared=lambda _: scripted
        )
    outcome = Outcome(case.name)
    rules = {r.name: r for r in ruleset.rules}
    for evaluation in case.eval:
        at = start + evaluation.at
        states = next((s for t, s in reversed(seen) if t <= at), {})
        expected = [expected_alert(a) for a in evaluation.alerts]
        got = [
            found_alert(s, rules, evaluation.alerts)
            for s in states.values()
            if s.status is not Status.INACTIVE
        ]
        if in_order(expected) != in_order(got):
            outcome.failures.append(
                difference(
                    f"alerts at {format_duration(evaluation.at)}", in_order(expected), in_order(got)
                )
            )
    if case.notifications is not None:
        expected_n = [expected_notification(n) for n in case.notifications]
        got_n = [
            found_notification(
                entry, start, case.notifications[i] if i < len(case.notifications) else None
            )
            for i, entry in enumerate(queued)
        ]
        if expected_n != got_n:
            outcome.failures.append(difference("notifications", expected_n, got_n))
    return outcome
