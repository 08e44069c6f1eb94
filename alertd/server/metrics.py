"""`/metrics`: the daemon's counters in Prometheus' text format, read at scrape time.

One registry per app (not prometheus-client's global one), so two apps in one process,
as in tests, never share series. Collectors read the counters the parts already keep;
only the outbox needs a store read, done by the handler before the registry is collected.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import platform
from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alertd.errors import StoreError
from alertd.model import Delivery, Severity, Status
from alertd.server.parts import ServerParts
from alertd.store.ownership import NOTIFY_LEASE

PREFIX = "alertd_"
OUTBOX_READ_LIMIT = 100_000
# What `generate_latest` writes; every Prometheus version reads it.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@dataclasses.dataclass
class OutboxView:
    """The pending outbox per receiver, as last read: depth and oldest creation time."""

    depth: dict[str, int] = dataclasses.field(default_factory=dict)
    oldest: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)


class DaemonCollector(Collector):
    """Every alertd metric, from the parts' counters."""

    def __init__(self, parts: ServerParts, outbox: OutboxView) -> None:
        self.parts = parts
        self.outbox = outbox

    def collect(self) -> Iterator[Metric]:
        yield from self._build()
        yield from self._evaluation()
        yield from self._sources()
        yield from self._alerts()
        yield from self._notifications()
        yield from self._store()
        yield from self._config()
        yield from self._leases()

    def _build(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            PREFIX + "build_info",
            "alertd's version and Python's, always 1.",
            labels=["version", "python_version"],
        )
        info.add_metric([self.parts.version, platform.python_version()], 1.0)
        yield info
        started = GaugeMetricFamily(
            PREFIX + "start_time_seconds", "When the daemon started, in Unix seconds."
        )
        started.add_metric([], self.parts.started_at.timestamp())
        yield started
        lag = GaugeMetricFamily(
            PREFIX + "event_loop_lag_seconds", "How late the event loop last woke a timer."
        )
        lag.add_metric([], self.parts.loop_lag.seconds)
        yield lag

    def _evaluation(self) -> Iterator[Metric]:
        evaluator = self.parts.evaluator
        duration = GaugeMetricFamily(
            PREFIX + "rule_group_last_evaluation_duration_seconds",
            "How long the group's last tick took.",
            labels=["group"],
        )
        last = GaugeMetricFamily(
            PREFIX + "rule_group_last_evaluation_timestamp_seconds",
            "The evaluation time of the group's last tick, in Unix seconds.",
            labels=["group"],
        )
        for name, evaluation in sorted(evaluator.evaluations.items()):
            duration.add_metric([name], evaluation.duration_seconds)
            last.add_metric([name], evaluation.at.timestamp())
        yield duration
        yield last
        rules = GaugeMetricFamily(PREFIX + "rules", "Rules loaded.")
        rules.add_metric([], float(len(evaluator.ruleset.rules)))
        yield rules
        unhealthy = GaugeMetricFamily(
            PREFIX + "rules_unhealthy", "Rules whose last evaluation failed."
        )
        unhealthy.add_metric([], float(len(evaluator.unhealthy)))
        yield unhealthy
        missed = CounterMetricFamily(
            PREFIX + "rule_group_ticks_missed", "Ticks skipped because an earlier one overran."
        )
        missed.add_metric([], float(self.parts.scheduler.missed if self.parts.scheduler else 0))
        yield missed

    def _sources(self) -> Iterator[Metric]:
        stats = self.parts.source_stats
        families = {
            "queries": CounterMetricFamily(
                PREFIX + "source_queries", "Queries asked of AE.", labels=["dataset"]
            ),
            "failed": CounterMetricFamily(
                PREFIX + "source_queries_failed",
                "Queries that failed for good.",
                labels=["dataset"],
            ),
            "retried": CounterMetricFamily(
                PREFIX + "source_queries_retried",
                "Queries that needed more than one attempt.",
                labels=["dataset"],
            ),
            "attempts": CounterMetricFamily(
                PREFIX + "source_requests", "HTTP requests sent to AE.", labels=["dataset"]
            ),
            "sql_bytes": CounterMetricFamily(
                PREFIX + "source_sql_bytes", "Bytes of SQL sent to AE.", labels=["dataset"]
            ),
            "rows_read": CounterMetricFamily(
                PREFIX + "source_rows_read", "Rows AE answered with.", labels=["dataset"]
            ),
        }
        billed = GaugeMetricFamily(
            PREFIX + "source_requests_this_month",
            "HTTP requests sent to AE in this calendar month (UTC), as billed.",
            labels=["dataset"],
        )
        now = self.parts.clock.now()
        if stats is not None:
            for dataset, counts in sorted(stats.datasets.items()):
                for field, family in families.items():
                    family.add_metric([dataset], float(getattr(counts, field)))
                billed.add_metric([dataset], float(stats.billed_this_month(dataset, now)))
        yield from families.values()
        yield billed
        failing = GaugeMetricFamily(
            PREFIX + "source_failed_ticks",
            "Ticks in a row whose queries to the dataset failed (0 once it answers).",
            labels=["dataset"],
        )
        for dataset, failed in sorted(self.parts.evaluator.dataset_failures.items()):
            failing.add_metric([dataset], float(failed))
        yield failing
        lag = GaugeMetricFamily(
            PREFIX + "source_lag_seconds",
            "How late the dataset's rows land: the age of the newest row, largest of the "
            "last minutes.",
            labels=["dataset"],
        )
        freshness = self.parts.evaluator.freshness
        for dataset, seconds in sorted((freshness.lags() if freshness else {}).items()):
            lag.add_metric([dataset], seconds.total_seconds())
        yield lag

    def _alerts(self) -> Iterator[Metric]:
        counts = Counter(
            (s.status.value, s.severity.value if s.severity else "")
            for s in self.parts.evaluator.states.values()
        )
        alerts = GaugeMetricFamily(
            PREFIX + "alerts", "Alerts by state and severity.", labels=["state", "severity"]
        )
        for status in (Status.PENDING, Status.FIRING):
            for severity in Severity:
                alerts.add_metric(
                    [status.value, severity.value], float(counts[(status.value, severity.value)])
                )
        yield alerts

    def _notifications(self) -> Iterator[Metric]:
        kinds = {
            "delivered": "Notifications delivered.",
            "failed": "Notifications refused for good by the receiver.",
            "retried": "Delivery attempts that failed and will be retried.",
            "expired": "Notifications that expired undelivered.",
        }
        families = {
            kind: CounterMetricFamily(PREFIX + f"notifications_{kind}", text, labels=["receiver"])
            for kind, text in kinds.items()
        }
        deliverer = self.parts.deliverer
        if deliverer is not None:
            for receiver, counters in sorted(deliverer.counters.items()):
                for kind, family in families.items():
                    family.add_metric([receiver], float(getattr(counters, kind)))
        yield from families.values()
        depth = GaugeMetricFamily(
            PREFIX + "outbox_pending", "Notifications waiting in the outbox.", labels=["receiver"]
        )
        oldest = GaugeMetricFamily(
            PREFIX + "outbox_oldest_age_seconds",
            "Age of the oldest notification waiting in the outbox.",
            labels=["receiver"],
        )
        now = self.parts.clock.now()
        for receiver, count in sorted(self.outbox.depth.items()):
            depth.add_metric([receiver], float(count))
            age = (now - self.outbox.oldest[receiver]).total_seconds()
            oldest.add_metric([receiver], max(0.0, age))
        yield depth
        yield oldest

    def _store(self) -> Iterator[Metric]:
        health = self.parts.health
        writable = GaugeMetricFamily(
            PREFIX + "state_store_writable", "1 while the state store takes writes."
        )
        writable.add_metric([], 1.0 if health.writable else 0.0)
        yield writable
        failed = CounterMetricFamily(
            PREFIX + "state_store_failed_writes", "State store writes that failed."
        )
        failed.add_metric([], float(health.failed_writes))
        yield failed
        reads = CounterMetricFamily(
            PREFIX + "state_store_failed_reads", "State store reads that failed."
        )
        reads.add_metric([], float(health.failed_reads))
        yield reads

    def _config(self) -> Iterator[Metric]:
        status = self.parts.reload_status
        ok = GaugeMetricFamily(
            PREFIX + "config_last_reload_successful", "Whether the last reload succeeded."
        )
        ok.add_metric([], 1.0 if status.successful else 0.0)
        yield ok
        at = GaugeMetricFamily(
            PREFIX + "config_last_reload_success_timestamp_seconds",
            "When the rules were last loaded successfully, in Unix seconds.",
        )
        loaded = status.last_success_at or self.parts.started_at
        at.add_metric([], loaded.timestamp())
        yield at

    def _leases(self) -> Iterator[Metric]:
        owner = self.parts.ownership
        held = owner.held()
        leases = GaugeMetricFamily(
            PREFIX + "leases_held",
            "Leases this replica holds: rule groups it evaluates, and the notification pipeline's.",
        )
        leases.add_metric([], float(len(held)))
        yield leases
        leader = GaugeMetricFamily(
            PREFIX + "leader", "1 while this replica runs the notification pipeline."
        )
        leader.add_metric([], 1.0 if NOTIFY_LEASE in held else 0.0)
        yield leader


async def read_outbox(parts: ServerParts, view: OutboxView) -> None:
    """Refresh the outbox figures (a store read, so not inside a collector)."""
    depth: Counter[str] = Counter()
    oldest: dict[str, dt.datetime] = {}
    for entry in await parts.store.outbox(status=Delivery.PENDING, limit=OUTBOX_READ_LIMIT):
        receiver = entry.notification.receiver
        depth[receiver] += 1
        created = entry.notification.created_at
        oldest[receiver] = min(created, oldest.get(receiver, created))
    receivers = parts.deliverer.counters if parts.deliverer is not None else {}
    view.depth = {name: depth.get(name, 0) for name in {*receivers, *depth}}
    view.oldest = {name: oldest.get(name, parts.clock.now()) for name in view.depth}


def router(parts: ServerParts) -> APIRouter:
    registry = CollectorRegistry(auto_describe=False)
    outbox = OutboxView()
    registry.register(DaemonCollector(parts, outbox))
    api = APIRouter(tags=["metrics"])

    @api.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus text exposition format."""
        # On a store error the figures read last stay; the store's health says why.
        with contextlib.suppress(StoreError):
            await read_outbox(parts, outbox)
        return Response(generate_latest(registry), media_type=TEXT_FORMAT)

    return api
