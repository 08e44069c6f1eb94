"""An alert storm: 10,000 alerts firing in one tick, delivered to rate-limited services.

    .venv/bin/python bench/storm.py --alerts 2000 --pagerduty-rate 20   # a few minutes
    .venv/bin/python bench/storm.py --pagerduty-rate 10                 # 10,000 alerts
    .venv/bin/python bench/storm.py                # PagerDuty's documented 2/s: ~42 min
    .venv/bin/python bench/storm.py --step-only --alerts 1000 10000     # the notifier alone

One rule fires for 10,000 tables at once, spread over 20 teams, half critical. Every alert
goes to Slack and Teams grouped by `alertname, team` (20 messages each), and critical ones
also page PagerDuty grouped by every label (`group_by: ["..."]`): 5,000 events, which at
PagerDuty's 120 a minute take about 42 minutes, hence `--pagerduty-rate`. The inhibit rules
of the shipped rules/notify.yaml apply (`--no-inhibit` leaves them out); every table has
one alert, so they mute nothing, but every warning is a target they must check.
`--silences N` adds N active silences, each of one table (`alertname="StormAlert",
table="t00042"`), of every seventh table while there are enough.

The real path runs: `Notifier.step` at t0, one commit of the tick to a `SqliteStore` in a
temporary folder, the notifier's next once-a-second poll (the step it takes every second
while the storm lasts), then a `Deliverer` with the real receivers, the default rate limits
and the system clock, until the outbox holds nothing pending or the budget (15 min) is
spent; `--step-only` stops before delivery. All of it runs in one event loop, as in the
daemon, beside a task that asks to wake every 10 ms: how late it wakes is the longest stall
of the loop, during which no tick, delivery or signal is handled.
The receivers post to the fakes of tests/notify/fakes.py on 127.0.0.1, which check every
payload; in front of them ~5% of requests are answered 429 with `Retry-After: 1` and ~2%
500. Each request is matched to its outbox entry by its body (rendering is pure).

Printed per receiver: notifications enqueued, requests the fakes saw, delivered, retries,
429s and 500s answered, failed, expired, still pending, lost (enqueued − delivered −
pending, which must be 0), duplicates (a notification the fakes accepted more than once)
and the time until its last delivery; then the overall time and the peak RSS.
Several `--alerts` counts run one storm each, in turn.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import io
import random
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
import yaml

from alertd.clock import SystemClock
from alertd.daemon import RECEIVER_TIMEOUT_SECONDS
from alertd.logging import configure
from alertd.model import (
    AlertState,
    Change,
    Delivery,
    OutboxEntry,
    Severity,
    Status,
    Transition,
    fingerprint,
)
from alertd.notify.build import DEFAULT_RATES, build_receivers, notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.delivery import Deliverer
from alertd.notify.matchers import parse_matchers
from alertd.notify.notifier import Notifier
from alertd.notify.receivers.base import Receiver
from alertd.notify.silences import Silence
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fakes live in tests/, which is not an installed package
from tests.notify.fakes import Answer, FakeServices, Service, read_body  # noqa: E402

RULE = "StormAlert"
RECEIVERS = ("slack", "teams", "pagerduty")
OUTBOX_LIMIT = 1_000_000
ROUTING_KEY = "stormROUTINGkey00000000000000001"  # the fake wants 32 characters
DATASETS_YAML = "datasets:\n  storm:\n    blobs: [table, team]\n    doubles: [duration]\n"
RULES_YAML = """\
group: storm
interval: 30s
rules:
  - alert: StormAlert
    dataset: storm
    value: p95(duration)
    by: [table, team]
    thresholds: {warning: "> 150", critical: "> 200"}
    annotations:
      summary: "P95 query time on {{ labels.table }} is {{ value | round(1) }} ms"
"""
NOTIFY_YAML = """\
receivers:
  - name: discard
  - name: slack
    slack: {{webhook_url: "{base}/slack/hooks/services/T0/B0/stormHOOKtoken0000000001"}}
  - name: teams
    teams: {{webhook_url: "{base}/teams/workflows/storm/triggers/manual/paths/invoke?sig=s"}}
  - name: pagerduty
    pagerduty: {{routing_key: "{key}", url: "{base}/pagerduty/v2/enqueue"}}
route:
  receiver: discard
  group_by: [alertname, team]
  group_wait: 0s
  routes:
    - receiver: pagerduty
      matchers: ['severity="critical"']
      group_by: ["..."]
      continue: true
    - receiver: slack
      continue: true
    - receiver: teams
      continue: true
"""
SHIPPED_NOTIFY = ROOT / "rules" / "notify.yaml"
WAKE_EVERY = 0.01  # seconds between the stall watcher's wake-ups
RETRY_AFTER = {"Retry-After": "1"}
THROTTLED = {
    "slack": Answer(429, {"retry_after": 1, "ok": False, "error": "rate_limited"}, RETRY_AFTER),
    "teams": Answer(
        429, {"error": {"code": "TooManyRequests", "message": "Rate limit exceeded"}}, RETRY_AFTER
    ),
    "pagerduty": Answer(
        429, {"status": "throttle exceeded", "message": "Requests arrive too fast"}, RETRY_AFTER
    ),
}
BROKEN = Answer(500, "internal_error")


@dataclass(frozen=True)
class Seen:
    """One request as the front saw it: to which service, which body, what it answered."""

    receiver: str
    digest: str
    status: int
    at: float  # time.monotonic() when the answer left


class Front:
    """The fakes behind a front that fails a share of requests and notes every answer."""

    def __init__(
        self, fakes: FakeServices, rng: random.Random, throttled: float, broken: float
    ) -> None:
        self.fakes = fakes
        self.rng = rng
        self.throttled = throttled
        self.broken = broken
        self.seen: list[Seen] = []
        self._services: dict[str, tuple[str, Service]] = {
            "/slack/hooks/": ("slack", fakes.slack_webhook),
            "/teams/": ("teams", fakes.teams),
            "/pagerduty/": ("pagerduty", fakes.pagerduty),
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.fakes(scope, receive, send)
            return
        body = await read_body(receive)
        path = scope["path"]
        found = next((v for p, v in self._services.items() if path.startswith(p)), None)
        if found is not None:
            self._script(*found)
        statuses: list[int] = []

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def noted(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        # Nothing between `_script` and the fake's handling of this request awaits
        # anything that suspends, so a scripted failure is answered to this very request.
        await self.fakes(scope, replay, noted)
        if found is not None:
            self.seen.append(Seen(found[0], digest(body), statuses[0], time.monotonic()))

    def _script(self, receiver: str, service: Service) -> None:
        roll = self.rng.random()
        if roll < self.throttled:
            service.then(THROTTLED[receiver])
        elif roll < self.throttled + self.broken:
            service.then(BROKEN)


@contextmanager
def serving(rng: random.Random, throttled: float, broken: float) -> Iterator[Front]:
    """The fakes, behind the front, on a free port of 127.0.0.1 for the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    host, port = listener.getsockname()
    front = Front(FakeServices(f"http://{host}:{port}"), rng, throttled, broken)
    config = uvicorn.Config(front, log_level="critical", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=front.fakes.base_url, timeout=10) as http:
            http.get("/health").raise_for_status()
        yield front
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Stalls:
    """The longest time the event loop kept a task waiting past its wake-up."""

    def __init__(self, every: float = WAKE_EVERY) -> None:
        self.every = every
        self.longest = 0.0

    async def watch(self) -> None:
        while True:
            due = time.monotonic() + self.every
            await anyio.sleep(self.every)
            self.longest = max(self.longest, time.monotonic() - due)


def shipped_inhibit_rules() -> str:
    """The `inhibit_rules` of the shipped notification file, as YAML."""
    shipped = yaml.safe_load(SHIPPED_NOTIFY.read_text())
    return yaml.safe_dump({"inhibit_rules": shipped["inhibit_rules"]}, sort_keys=False)


def configured(
    folder: Path, base_url: str, *, inhibit: bool
) -> tuple[dict[str, Rule], NotifyConfig]:
    """The storm's rule and notification file, written to `folder` and loaded."""
    (folder / "datasets.yaml").write_text(DATASETS_YAML)
    (folder / "storm.yaml").write_text(RULES_YAML)
    notify = NOTIFY_YAML.format(base=base_url, key=ROUTING_KEY)
    if inhibit:
        notify += shipped_inhibit_rules()
    (folder / "notify.yaml").write_text(notify)
    loaded = load([folder])
    config, errors = notify_config([folder])
    problems = [*loaded.errors, *errors]
    if problems or config is None:
        raise SystemExit("\n".join(map(str, problems)))
    return {r.name: r for r in loaded.ruleset.rules}, config


def firing_states(count: int, teams: int, at: dt.datetime) -> dict[str, AlertState]:
    """`count` alerts of one rule firing at `at`: tables over `teams` teams, half critical."""
    states = {}
    for i in range(count):
        critical = (i // teams) % 2 == 0  # every team gets both severities
        labels = (("table", f"t{i:05d}"), ("team", f"team{i % teams:02d}"))
        key = fingerprint(RULE, labels)
        states[key] = AlertState(
            key,
            RULE,
            labels,
            Status.FIRING,
            Severity.CRITICAL if critical else Severity.WARNING,
            active_since=at,
            firing_since=at,
            last_breach=at,
            last_seen=at,
            last_eval=at,
            value=250.0 if critical else 175.0,
            samples=100,
        )
    return states


def table_silences(count: int, tables: int, at: dt.datetime) -> list[Silence]:
    """`count` silences active at `at`, each of one table (every seventh while there are)."""
    return [
        Silence(
            f"storm-{i}",
            parse_matchers(f'alertname="{RULE}", table="t{i * 7 % max(tables, 1):05d}"'),
            at,
            at + dt.timedelta(hours=1),
            "bench",
            "a deploy touching these tables",
        )
        for i in range(count)
    ]


def fired(state: AlertState) -> Transition:
    assert state.firing_since is not None
    return Transition(
        state.firing_since,
        state.fingerprint,
        state.rule,
        state.labels,
        Change.FIRING,
        Status.INACTIVE,
        Status.FIRING,
        state.severity,
        None,
        state.value,
    )


def expected_bodies(
    entries: list[OutboxEntry], receivers: Mapping[str, Receiver]
) -> dict[str, str]:
    """Each entry's request body digest, mapped to the entry's id."""
    return {
        digest(receivers[e.notification.receiver].render(e.notification).body): e.id
        for e in entries
    }


async def pending(store: SqliteStore) -> bool:
    return bool(await store.outbox(status=Delivery.PENDING, limit=1))


async def deliver(deliverer: Deliverer, store: SqliteStore, budget: float, loop: str) -> None:
    """Deliver until nothing is pending, as the daemon's loops do (or its drain on stop)."""
    with anyio.move_on_after(budget):
        if loop == "drain":
            await deliverer.drain(budget)
            return
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(deliverer.run)
            while await pending(store):
                await deliverer.clock.sleep(0.5)
            tasks.cancel_scope.cancel()


@dataclass
class Outcome:
    """What a storm left behind, for the report."""

    alerts: int
    critical: int
    inhibit_rules: int
    silences: int
    step_s: float
    commit_s: float
    poll_s: float
    stall_s: float
    begun: float
    entries: list[OutboxEntry]
    ids: dict[str, str]
    seen: list[Seen]
    retried: dict[str, int]
    problems: list[str]


async def storm(args: argparse.Namespace, alerts: int) -> Outcome:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as name, serving(rng, args.throttled, args.broken) as front:
        folder = Path(name)
        rules, config = configured(folder, front.fakes.base_url, inhibit=not args.no_inhibit)
        store = await SqliteStore.open(folder / "state.db")
        stalls = Stalls()
        try:
            async with anyio.create_task_group() as watching:
                watching.start_soon(stalls.watch)
                await anyio.sleep(2 * stalls.every)  # the watcher is waiting
                clock = SystemClock()
                t0 = clock.now()
                states = firing_states(alerts, args.teams, t0)
                silences = table_silences(args.silences, alerts, t0)
                notifier = Notifier(config, rules)
                started = time.perf_counter()
                changes = notifier.step(states, silences, t0)
                stepped = time.perf_counter()
                await store.commit(
                    Commit(
                        at=t0,
                        group="storm",
                        states=tuple(states.values()),
                        transitions=tuple(fired(s) for s in states.values()),
                        groups=changes.groups,
                        dropped_groups=changes.dropped_groups,
                        outbox=changes.outbox,
                    )
                )
                notifier.committed(changes)
                committed = time.perf_counter()
                notifier.step(states, silences, t0 + dt.timedelta(seconds=1))
                polled = time.perf_counter()
                begun = time.monotonic()
                ids: dict[str, str] = {}
                retried: dict[str, int] = {}
                if not args.step_only:
                    async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
                        receivers, rates = build_receivers(config, client, io.StringIO())
                        rates["pagerduty"] = args.pagerduty_rate
                        ids = expected_bodies(await store.outbox(limit=OUTBOX_LIMIT), receivers)
                        deliverer = Deliverer(store, receivers, clock, rates=rates)
                        begun = time.monotonic()
                        await deliver(deliverer, store, args.budget, args.loop)
                    retried = {name: c.retried for name, c in deliverer.counters.items()}
                await anyio.sleep(2 * stalls.every)  # the watcher has seen the last stall
                watching.cancel_scope.cancel()
            entries = await store.outbox(limit=OUTBOX_LIMIT)
        finally:
            await store.aclose()
        return Outcome(
            alerts=len(states),
            critical=sum(s.severity is Severity.CRITICAL for s in states.values()),
            inhibit_rules=len(config.inhibit_rules),
            silences=len(silences),
            step_s=stepped - started,
            commit_s=committed - stepped,
            poll_s=polled - committed,
            stall_s=stalls.longest,
            begun=begun,
            entries=entries,
            ids=ids,
            seen=list(front.seen),
            retried=retried,
            problems=front.fakes.problems(),
        )


@dataclass
class Row:
    enqueued: int = 0
    requests: int = 0
    delivered: int = 0
    retries: int = 0
    throttled: int = 0
    broken: int = 0
    failed: int = 0
    expired: int = 0
    pending: int = 0
    lost: int = 0
    duplicates: int = 0
    last_s: float | None = None


COLUMNS = (
    "enqueued",
    "requests",
    "delivered",
    "retries",
    "429",
    "500",
    "failed",
    "expired",
    "pending",
    "lost",
    "duplicates",
)


def rows(outcome: Outcome) -> tuple[dict[str, Row], list[str]]:
    """One row per receiver, and every disagreement between the store and the fakes."""
    table = {name: Row(retries=outcome.retried.get(name, 0)) for name in RECEIVERS}
    status = {e.id: e.status for e in outcome.entries}
    for entry in outcome.entries:
        row = table.setdefault(entry.notification.receiver, Row())
        row.enqueued += 1
        row.delivered += entry.status is Delivery.DELIVERED
        row.failed += entry.status is Delivery.FAILED
        row.expired += entry.status is Delivery.EXPIRED
        row.pending += entry.status is Delivery.PENDING
    accepted: Counter[str] = Counter()
    for seen in outcome.seen:
        row = table[seen.receiver]
        row.requests += 1
        row.throttled += seen.status == 429
        row.broken += seen.status >= 500
        if 200 <= seen.status < 300:
            accepted[outcome.ids.get(seen.digest, "")] += 1
            row.last_s = max(row.last_s or 0.0, seen.at - outcome.begun)
    unknown = accepted.pop("", 0)
    for row in table.values():
        row.lost = row.enqueued - row.delivered - row.pending
    receiver_of = {e.id: e.notification.receiver for e in outcome.entries}
    for entry_id, times in accepted.items():
        table[receiver_of[entry_id]].duplicates += times - 1
    delivered = {i for i, s in status.items() if s is Delivery.DELIVERED}
    disagreements = []
    if same := len(outcome.entries) - len(outcome.ids):
        disagreements.append(f"{same} entries render the same body as another")
    if unknown:
        disagreements.append(f"{unknown} accepted requests match no outbox entry")
    if never := delivered - set(accepted):
        disagreements.append(f"{len(never)} entries recorded delivered that no fake accepted")
    if unrecorded := set(accepted) - delivered:
        disagreements.append(f"{len(unrecorded)} entries accepted but not recorded delivered")
    return table, disagreements


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    table, disagreements = rows(outcome)
    total = Row(retries=0)
    for row in table.values():
        for f in dataclasses.fields(Row):
            if f.name != "last_s":
                setattr(total, f.name, getattr(total, f.name) + getattr(row, f.name))
        if row.last_s is not None:
            total.last_s = max(total.last_s or 0.0, row.last_s)
    rates = {**DEFAULT_RATES, "pagerduty": args.pagerduty_rate}
    print(
        f"storm: {outcome.alerts} alerts firing at once ({outcome.critical} critical) over "
        f"{args.teams} teams; {outcome.inhibit_rules} inhibit rules; {outcome.silences} "
        f"silences; loop={args.loop}; "
        f"{args.throttled:.0%} answered 429 (Retry-After: 1), {args.broken:.0%} answered 500"
    )
    print(
        f"Notifier.step {outcome.step_s:.2f} s; commit of the tick {outcome.commit_s:.2f} s "
        f"({len(outcome.entries)} notifications enqueued); next poll's step "
        f"{outcome.poll_s:.2f} s; longest event-loop stall {outcome.stall_s:.2f} s"
    )
    if args.step_only:
        return
    print(f"{'receiver':<16}" + "".join(f"{c:>11}" for c in COLUMNS) + f"{'last delivery':>14}")
    for name, row in [*((f"{n} ({rates[n]:g}/s)", table[n]) for n in RECEIVERS), ("all", total)]:
        numbers = [getattr(row, f.name) for f in dataclasses.fields(Row)][:-1]
        last = "-" if row.last_s is None else f"{row.last_s:.1f} s"
        print(f"{name:<16}" + "".join(f"{n:>11}" for n in numbers) + f"{last:>14}")
    print(f"payload problems the fakes found: {len(outcome.problems)}")
    for problem in outcome.problems[:5]:
        print(f"  {problem[:200]}")
    for line in disagreements:
        print(f"store and fakes disagree: {line}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


def main() -> int:
    configure("error", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--alerts", type=int, nargs="+", default=[10_000], help="one storm per count, in turn"
    )
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument(
        "--pagerduty-rate",
        type=float,
        default=DEFAULT_RATES["pagerduty"],
        help="PagerDuty events per second (default: the documented 120 a minute)",
    )
    parser.add_argument("--budget", type=float, default=900.0, help="seconds of delivery")
    parser.add_argument("--loop", choices=("run", "drain"), default="run")
    parser.add_argument("--throttled", type=float, default=0.05, help="share answered 429")
    parser.add_argument("--broken", type=float, default=0.02, help="share answered 500")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--step-only", action="store_true", help="time the notifier's steps, deliver nothing"
    )
    parser.add_argument(
        "--no-inhibit", action="store_true", help="leave out the shipped inhibit rules"
    )
    parser.add_argument("--silences", type=int, default=0, help="active silences, one table each")
    args = parser.parse_args()
    for alerts in args.alerts:
        report(anyio.run(storm, args, alerts), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
