"""The delivery loop: send what the outbox holds, per receiver, until it is delivered.

Retries use exponential backoff with full jitter, or the service's `Retry-After`; a
refusal that will not change (most 4xx) is kept as failed for inspection; a notification
that stays undeliverable past its age limit expires and is reported. Each receiver has
its own rate limit and concurrency bound. Everything waits on the injected clock.

The store may fail (a full disk): outcomes it does not take wait in `Outcomes`, and a
receiver's loop that meets a store error backs off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterable, Mapping

import anyio
import structlog
from anyio.abc import TaskGroup

from alertd.clock import Clock
from alertd.errors import LeaseLostError, ReceiverError, StoreError
from alertd.model import Delivery, OutboxEntry
from alertd.notify.in_doubt import earlier_delivery, unconfirmed_message
from alertd.notify.outcomes import Outcomes
from alertd.notify.receivers.base import Delivered, Payload, Receiver
from alertd.store.base import Notifications
from alertd.store.health import StateHealth

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0
# An idle receiver's loop waits to be told of new entries (`enqueued`) or for its earliest
# retry; it looks at the outbox at least this often all the same.
IDLE_SECONDS = 60.0
UNCONFIGURED_SCAN = 100_000
STORE_BACKOFF_SECONDS = 1.0
MAX_STORE_BACKOFF_SECONDS = 60.0


def backoff(attempt: int, initial: float, maximum: float) -> float:
    """The wait before try `attempt + 1`: doubling from `initial`, never over `maximum`."""
    return min(maximum, initial * 2.0 ** (attempt - 1))


class RateLimit:
    """A token bucket: `rate` sends per second on average, `burst` at once."""

    def __init__(self, clock: Clock, rate: float, burst: int = 1) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._updated = clock.now()
        self._lock = anyio.Lock()

    async def acquire(self, until: dt.datetime | None = None) -> bool:
        """Take one send; False, at once, when none would be free before `until`."""
        async with self._lock:
            while True:
                now = self.clock.now()
                elapsed = (now - self._updated).total_seconds()
                self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return True
                wait = (1 - self._tokens) / self.rate
                if until is not None and now + dt.timedelta(seconds=wait) > until:
                    return False
                await self.clock.sleep(wait)

    def refund(self) -> None:
        """Give back one send taken but not made."""
        self._tokens = min(self.burst, self._tokens + 1)


@dataclasses.dataclass
class Counters:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0


class Deliverer:
    """Sends due outbox entries through their receivers and records every outcome."""

    def __init__(
        self,
        store: Notifications,
        receivers: Mapping[str, Receiver],
        clock: Clock,
        *,
        rates: Mapping[str, float] | None = None,
        concurrency: int = 4,
        initial_backoff: float = 1.0,
        max_backoff: float = 300.0,
        rng: random.Random | None = None,
        health: StateHealth | None = None,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self.store = store
        # False while another replica leads: it delivers, this one waits to be woken.
        self.active = active
        self.receivers = receivers
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.rng = rng or random.Random()
        self.health = health or StateHealth()
        self.outcomes = Outcomes(store, clock, self.health)
        # Receivers whose loop met a store error since it last began a round.
        self._store_trouble: set[str] = set()
        self.concurrency = concurrency
        self.counters: dict[str, Counters] = {}
        self._limits: dict[str, RateLimit] = {}
        self._concurrency: dict[str, anyio.CapacityLimiter] = {}
        # Set when something is enqueued for the receiver, waking its idle loop.
        self._wake: dict[str, anyio.Event] = {}
        self._loops: dict[str, anyio.CancelScope] = {}
        self._tasks: TaskGroup | None = None
        self._take(receivers, rates or {})

    def _take(self, receivers: Mapping[str, Receiver], rates: Mapping[str, float]) -> None:
        self.receivers = dict(receivers)
        for name in receivers:
            rate = rates.get(name, 10.0)
            self.counters.setdefault(name, Counters())
            limit = self._limits.get(name)
            if limit is None or limit.rate != rate:
                self._limits[name] = RateLimit(self.clock, rate)
            self._concurrency.setdefault(name, anyio.CapacityLimiter(self.concurrency))
            self._wake.setdefault(name, anyio.Event())

    def reload(self, receivers: Mapping[str, Receiver], rates: Mapping[str, float]) -> None:
        """Send through `receivers` from now on (a reload rebuilt them).

        The next attempt of a receiver that is still there goes through its new instance
        (a rotated webhook URL takes effect), keeping its queue and rate limit; a send in
        flight finishes as it began. A receiver no longer configured stops delivering:
        its entries wait, and expire at their age limit, as after a restart without it.
        """
        self._take(receivers, rates)
        if self._tasks is None:
            return
        self._start_loops(self._tasks)
        self._tasks.start_soon(self._expire_unconfigured_until_done)
        self.enqueued(self.receivers)

    def enqueued(self, receivers: Iterable[str]) -> None:
        """Wake the loops of `receivers`: entries were committed to their queues."""
        for name in receivers:
            event = self._wake.get(name)
            if event is not None:
                event.set()

    async def deliver_due(self, receiver: str) -> int:
        """Attempt every entry of `receiver` due now; the number attempted."""
        attempted, _ = await self._deliver(receiver, until=None)
        return attempted

    async def _deliver(self, receiver: str, until: dt.datetime | None) -> tuple[int, int]:
        """Attempt what is due; an entry whose turn under the rate limit would come after
        `until` stays pending, untouched. The numbers attempted and left.

        Without `until`, what is enqueued for other groups while sends are in flight is
        attempted as it comes (`_join_enqueued`): a slow service's answers (seconds each,
        a Slack bot's resolve three of them) do not hold a new trigger back until its alert
        has resolved and superseded it unsent."""
        if not self.active():
            return 0, 0  # another replica leads, and delivers
        if not await self.outcomes.record_unrecorded():
            self._store_trouble.add(receiver)
        entries = await self._due(receiver, self.clock.now())
        left: list[OutboxEntry] = []
        started: set[str] = set()
        # The groups with an attempt in flight: their next entry waits for its outcome.
        flying: set[str] = set()
        landed = anyio.Event()  # set when nothing is in flight any more

        async def attempt(entry: OutboxEntry) -> None:
            try:
                attempted = await self._attempt(entry, until)
            except StoreError as exc:
                # A read before the send failed: the entry stays as it is, for later.
                self.health.read_failed("delivery", exc)
                self._store_trouble.add(receiver)
                return
            finally:
                flying.discard(entry.notification.group_key)
                if not flying:
                    landed.set()
            if not attempted:
                left.append(entry)

        async with anyio.create_task_group() as tasks:

            def start(found: Iterable[OutboxEntry]) -> None:
                for entry in found:
                    group = entry.notification.group_key
                    if entry.id not in started and group not in flying:
                        started.add(entry.id)
                        flying.add(group)
                        tasks.start_soon(attempt, entry)

            start(entries)
            if until is None and flying:
                tasks.start_soon(self._join_enqueued, receiver, start, landed)
        return len(started) - len(left), len(left)

    async def _join_enqueued(
        self, receiver: str, start: Callable[[list[OutboxEntry]], None], landed: anyio.Event
    ) -> None:
        """Until `landed`, start what comes due when entries are enqueued for `receiver`
        (`start` skips the groups in flight and what this round attempted already)."""
        while not landed.is_set():
            wake = self._wake[receiver]
            async with anyio.create_task_group() as waits:

                async def first(event: anyio.Event) -> None:
                    await event.wait()
                    waits.cancel_scope.cancel()

                waits.start_soon(first, wake)
                waits.start_soon(first, landed)
            if landed.is_set() or not self.active():
                return
            # Taken before reading, as in `_deliver_forever`: an entry enqueued meanwhile
            # wakes this again. The event replaced was set, so `_deliver_forever`, which
            # holds it, reads the queue once more before it idles: no wake is lost.
            self._wake[receiver] = anyio.Event()
            try:
                start(await self._due(receiver, self.clock.now()))
            except StoreError as exc:
                self.health.read_failed("due", exc)
                self._store_trouble.add(receiver)
                return

    async def _due(self, receiver: str, at: dt.datetime) -> list[OutboxEntry]:
        """What the store has due at `at`, as this process knows it (`Outcomes.as_known`)."""
        known = (self.outcomes.as_known(e) for e in await self.store.due(receiver, at))
        return [e for e in known if e is not None and e.next_attempt_at <= at]

    async def _record(self, outcome: OutboxEntry) -> None:
        if not await self.outcomes.record(outcome):
            self._store_trouble.add(outcome.notification.receiver)

    async def run(self) -> None:
        """Deliver for every receiver until cancelled; `reload` starts and stops loops."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                tasks.start_soon(self._expire_unconfigured_until_done)
                self._start_loops(tasks)
                await anyio.sleep_forever()
        finally:
            self._tasks = None
            self._loops.clear()

    def _start_loops(self, tasks: TaskGroup) -> None:
        """A loop for each receiver that has none; the loops of those gone are stopped."""
        for name, scope in list(self._loops.items()):
            if name not in self.receivers:
                scope.cancel()
                del self._loops[name]
        for name in self.receivers:
            if name not in self._loops:
                self._loops[name] = anyio.CancelScope()
                tasks.start_soon(self._loop, name, self._loops[name], name=f"deliver {name}")

    async def _expire_unconfigured_until_done(self) -> None:
        """`expire_unconfigured`, retried with backoff while the store fails: the
        receivers' loops run meanwhile."""
        failures = 0
        while True:
            try:
                await self.expire_unconfigured()
                return
            except StoreError as exc:
                self.health.read_failed("expire_unconfigured", exc)
            except Exception:
                log.exception("delivery.bug", step="expire_unconfigured")
            failures += 1
            await self.clock.sleep(self._store_backoff(failures))

    def _store_backoff(self, failures: int) -> float:
        return backoff(failures, STORE_BACKOFF_SECONDS, MAX_STORE_BACKOFF_SECONDS)

    async def expire_unconfigured(self) -> tuple[int, int]:
        """Expire what waits for a receiver that is not configured now (removed from the
        file, or its secrets unset) once it is past its age limit, as a delivery attempt
        would. Younger entries wait: a secret restored and a restart still send them.
        The numbers expired and still waiting."""
        now = self.clock.now()
        pending = await self.store.outbox(status=Delivery.PENDING, limit=UNCONFIGURED_SCAN)
        orphans = [e for e in pending if e.notification.receiver not in self.receivers]
        expired = [e for e in orphans if now >= e.expires_at]
        for entry in expired:
            await self._finish(entry, Delivery.EXPIRED, "its receiver is not configured")
        waiting = len(orphans) - len(expired)
        if waiting:
            log.warning("notification.receiver_not_configured", waiting=waiting)
        return len(expired), waiting

    async def drain(self, seconds: float) -> None:
        """Deliver, for `seconds` at most, what is due now and what comes due meanwhile.

        Receivers drain side by side, so a slow or rate-limited one does not use up the
        others' time; what is left stays in the outbox for the next start.
        """
        deadline = self.clock.now() + dt.timedelta(seconds=seconds)
        async with anyio.create_task_group() as tasks:
            for name in self.receivers:
                tasks.start_soon(self._drain_receiver, name, deadline)

    async def _drain_receiver(self, name: str, deadline: dt.datetime) -> None:
        while self.clock.now() < deadline:
            try:
                attempted, left = await self._deliver(name, until=deadline)
            except StoreError as exc:
                self.health.read_failed("drain", exc)
                return
            except Exception:
                log.exception("delivery.bug", receiver=name)
                return
            if left:
                log.warning("delivery.drain_cut_short", receiver=name, left=left)
                return
            if not attempted and not await self._due(name, deadline):
                return
            await self.clock.sleep(POLL_SECONDS if not attempted else 0)

    async def _loop(self, receiver: str, scope: anyio.CancelScope) -> None:
        with scope:
            await self._deliver_forever(receiver)

    async def _deliver_forever(self, receiver: str) -> None:
        failures = 0
        while True:
            # Taken before looking: an entry enqueued while this round reads still wakes it.
            wake = self._wake[receiver] = anyio.Event()
            self._store_trouble.discard(receiver)
            try:
                attempted = await self.deliver_due(receiver)
                trouble = receiver in self._store_trouble
            except StoreError as exc:
                self.health.read_failed("due", exc)
                attempted, trouble = 0, True
            except Exception:
                log.exception("delivery.bug", receiver=receiver)
                attempted, trouble = 0, True
            # A store that fails (a full disk) is not asked again every second.
            failures = failures + 1 if trouble else 0
            if failures:
                await self.clock.sleep(self._store_backoff(failures))
            elif attempted:
                await self.clock.sleep(0)
            else:
                await self._idle(receiver, wake)

    async def _idle(self, receiver: str, wake: anyio.Event) -> None:
        """Wait until something is enqueued for `receiver`, or its earliest retry is due."""
        seconds = IDLE_SECONDS
        due = await self._next_attempt(receiver) if self.active() else None
        if due is not None:
            seconds = min(seconds, max((due - self.clock.now()).total_seconds(), POLL_SECONDS))
        async with anyio.create_task_group() as tasks:

            async def woken() -> None:
                await wake.wait()
                tasks.cancel_scope.cancel()

            tasks.start_soon(woken)
            await self.clock.sleep(seconds)
            tasks.cancel_scope.cancel()

    async def _next_attempt(self, receiver: str) -> dt.datetime | None:
        """When the receiver's queue next has an entry due (a retry), or None when nothing
        of it waits. Only the oldest pending entry of each group is ever due (`Store.due`).
        """
        try:
            pending = await self.store.outbox(status=Delivery.PENDING, limit=UNCONFIGURED_SCAN)
        except StoreError as exc:
            self.health.read_failed("next_attempt", exc)
            return None
        heads: dict[str, OutboxEntry] = {}
        for entry in sorted(pending, key=lambda e: e.notification.created_at):
            if entry.notification.receiver == receiver:
                heads.setdefault(entry.notification.group_key, entry)
        known = (self.outcomes.as_known(e) for e in heads.values())
        return min((e.next_attempt_at for e in known if e is not None), default=None)

    async def _attempt(self, entry: OutboxEntry, until: dt.datetime | None = None) -> bool:
        """Try to send `entry`; False when it was left pending because `until` came first."""
        name = entry.notification.receiver
        receiver = self.receivers.get(name)
        now = self.clock.now()
        if receiver is None or now >= entry.expires_at:
            reason = "no such receiver is configured" if receiver is None else "too old to send"
            await self._finish(entry, Delivery.EXPIRED, reason)
            return True
        async with self._concurrency[name]:
            if not await self._limits[name].acquire(until):
                return False
            # A newer notification of the group may have superseded it while it waited; its
            # turn then goes to the next one.
            if not await self.store.is_pending(entry.id):
                self._limits[name].refund()
                log.info("notification.superseded", receiver=name, notification=entry.id)
                return True
            previous = await self.store.last_ref(name, entry.notification.group_key)
            if previous is None:
                previous = await unconfirmed_message(receiver, entry)
            try:
                payload = receiver.render(entry.notification, previous_ref=previous)
            except Exception as exc:
                log.exception("delivery.bug", receiver=name, notification=entry.id)
                await self._failed(
                    entry, ReceiverError(f"unexpected error: {exc!r}", retryable=True)
                )
                return True
            # A stop waits for a send in flight and its record: cut off in between, the
            # notification would stay pending although the service has it, and go twice.
            with anyio.CancelScope(shield=True):
                if not await self._mark_sending(entry):
                    self._limits[name].refund()
                    return True
                await self._send(entry, receiver, payload)
        return True

    async def _settled_earlier(
        self, entry: OutboxEntry, receiver: Receiver, payload: Payload
    ) -> bool:
        """True when an earlier attempt of `entry` is found to have arrived (it is then
        recorded as delivered), or when asking failed for now (it is retried)."""
        try:
            earlier = await earlier_delivery(receiver, entry, payload)
        except ReceiverError as exc:
            await self._failed(entry, exc)
            return True
        if earlier is None:
            return False
        self._limits[entry.notification.receiver].refund()
        await self._delivered(entry, earlier)
        return True

    async def _mark_sending(self, entry: OutboxEntry) -> bool:
        """Count the attempt before it is made, so the store knows the receiver may have it
        even if this process dies before the outcome is recorded: a resolve committed
        meanwhile is then still owed, after a restart too, instead of being superseded as
        having nothing to resolve. A store that cannot take it does not hold up the send.

        With replicas, this write is the send's fence: it is refused to a replica that no
        longer leads (`LeaseLostError`), and then nothing is sent (False)."""
        try:
            await self.store.record(dataclasses.replace(entry, attempts=entry.attempts + 1))
        except LeaseLostError as exc:
            log.warning("notification.not_leader", notification=entry.id, error=str(exc))
            return False
        except StoreError as exc:
            self.health.write_failed("record", exc, self.clock.now())
        return True

    async def _send(self, entry: OutboxEntry, receiver: Receiver, payload: Payload) -> None:
        name = entry.notification.receiver
        if await self._settled_earlier(entry, receiver, payload):
            return
        try:
            delivered = await receiver.send(payload)
        except ReceiverError as exc:
            await self._failed(entry, exc)
            return
        except Exception as exc:
            log.exception("delivery.bug", receiver=name, notification=entry.id)
            await self._failed(entry, ReceiverError(f"unexpected error: {exc!r}", retryable=True))
            return
        await self._delivered(entry, delivered)

    async def _delivered(self, entry: OutboxEntry, delivered: Delivered) -> None:
        name = entry.notification.receiver
        self.counters[name].delivered += 1
        log.info(
            "notification.delivered",
            receiver=name,
            notification=entry.id,
            attempts=entry.attempts + 1,
        )
        await self._record(
            dataclasses.replace(
                entry,
                status=Delivery.DELIVERED,
                attempts=entry.attempts + 1,
                finished_at=self.clock.now(),
                ref=delivered.ref,
                last_error=None,
            )
        )

    async def _failed(self, entry: OutboxEntry, exc: ReceiverError) -> None:
        name = entry.notification.receiver
        if not exc.retryable:
            log.error("notification.refused", receiver=name, notification=entry.id, error=str(exc))
            await self._finish(entry, Delivery.FAILED, str(exc))
            return
        attempts = entry.attempts + 1
        ceiling = backoff(attempts, self.initial_backoff, self.max_backoff)
        wait = exc.retry_after if exc.retry_after is not None else self.rng.uniform(0, ceiling)
        self.counters[name].retried += 1
        log.warning(
            "notification.retry",
            receiver=name,
            notification=entry.id,
            attempts=attempts,
            wait_s=wait,
            error=str(exc),
        )
        await self._record(
            dataclasses.replace(
                entry,
                attempts=attempts,
                last_error=str(exc),
                next_attempt_at=self.clock.now() + dt.timedelta(seconds=wait),
            )
        )

    async def _finish(self, entry: OutboxEntry, status: Delivery, reason: str) -> None:
        counters = self.counters.setdefault(entry.notification.receiver, Counters())
        if status is Delivery.EXPIRED:
            counters.expired += 1
            log.error(
                "notification.expired",
                receiver=entry.notification.receiver,
                notification=entry.id,
                reason=reason,
            )
        else:
            counters.failed += 1
        await self._record(
            dataclasses.replace(
                entry, status=status, last_error=reason, finished_at=self.clock.now()
            )
        )
