"""`alertd notify-test`: one marked test alert through one receiver, then its resolve.

The notifications go straight to the receiver, not through the outbox, so the command
works while the daemon runs and leaves nothing behind in the state store. Each test has a
group key of its own, so PagerDuty opens a separate incident rather than touching a real
one, and the resolve that follows closes it again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
import socket
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from alertd.clock import Clock, SystemClock
from alertd.commands.environment import rules_dir_problem
from alertd.errors import ReceiverError
from alertd.model import AlertSnapshot, Notification, Severity, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.matchers import with_identity
from alertd.notify.receivers.base import Receiver
from alertd.pipeline import RECEIVER_TIMEOUT_SECONDS, receivers_for

TEST_ALERT = "AlertdTest"


def run(
    receiver: str, rules_dir: Path, out: TextIO, err: TextIO, clock: Clock | None = None
) -> int:
    """Send a test alert and its resolve through `receiver`: 0 when both were accepted."""
    missing = rules_dir_problem(rules_dir)
    if missing:
        # Without the folder there is no notify.yaml, and every name would look unknown.
        print(missing, file=err)
        return 1
    config, errors = notify_config([rules_dir])
    for error in errors:
        print(error, file=err)
    if config is None:
        return 1
    problem = unusable(config, receiver)
    if problem is not None:
        print(problem, file=err)
        return 1
    return anyio.run(_send, config, receiver, clock or SystemClock(), out, err)


def unusable(config: NotifyConfig, name: str) -> str | None:
    """Why `name` cannot take a test notification, naming the receivers that can; or None."""
    configured = ", ".join(sorted(config.receivers)) or "none"
    skipped = {s.name: s.reason for s in config.skipped}
    if name in skipped:
        return f"receiver {name!r} is skipped: {skipped[name]} (configured: {configured})"
    settings = config.receivers.get(name)
    if settings is None:
        others = "".join(f"; skipped: {s}" for s in config.skipped)
        return f"unknown receiver {name!r} (configured: {configured}{others})"
    if settings.integration is None:
        return f"receiver {name!r} has no integration: alerts routed to it are dropped"
    return None


def build_test_notification(receiver: str, host: str, now: dt.datetime) -> Notification:
    """A firing `AlertdTest` marked as a test, in a group no real alert can share."""
    labels = with_identity(TEST_ALERT, (), Severity.WARNING)
    alert = AlertSnapshot(
        fingerprint=fingerprint(TEST_ALERT, labels),
        rule=TEST_ALERT,
        labels=labels,
        firing=True,
        severity=Severity.WARNING,
        value=None,
        threshold=None,
        annotations={
            "summary": f"Test notification from alertd on {host}",
            "description": (
                f"Sent by `alertd notify-test {receiver}` to check this receiver; nothing is "
                "wrong. A resolve follows at once."
            ),
        },
        starts_at=now,
    )
    return Notification(
        id=secrets.token_hex(8),
        receiver=receiver,
        # Real group keys start with the route's matchers, never with "test:".
        group_key=f"test:{receiver}:{secrets.token_hex(8)}",
        group_labels=(("alertname", TEST_ALERT),),
        firing=True,
        alerts=(alert,),
        created_at=now,
        test=True,
    )


def resolve_of(n: Notification, now: dt.datetime) -> Notification:
    """The notification that resolves every alert of `n`, in the same group."""
    alerts = tuple(
        dataclasses.replace(a, firing=False, severity=None, ends_at=now) for a in n.alerts
    )
    return dataclasses.replace(
        n, id=secrets.token_hex(8), firing=False, alerts=alerts, created_at=now
    )


async def _send(config: NotifyConfig, name: str, clock: Clock, out: TextIO, err: TextIO) -> int:
    # Only the receiver under test is built, so a broken neighbour cannot stop the test.
    only = dataclasses.replace(config, receivers={name: config.receivers[name]})
    async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
        built = receivers_for(only, client, out, console_json=False)
        if isinstance(built, list):
            for error in built:
                print(f"receiver {name!r}: {error.message}", file=err)
            return 1
        receiver, rates = built.by_name[name], built.rates
        trigger = build_test_notification(name, socket.gethostname(), clock.now())
        try:
            delivered = await receiver.send(receiver.render(trigger))
        except ReceiverError as exc:
            print(str(exc), file=err)
            if exc.retryable:
                await _close_unconfirmed(receiver, trigger, clock, out)
            return 1
        print(f"sent: test alert {TEST_ALERT} to {name} (group {trigger.group_key})", file=out)
        # Two messages in a row must stay within the service's rate (Slack: one a second).
        await clock.sleep(1 / rates[name])
        resolve = resolve_of(trigger, clock.now())
        try:
            await receiver.send(receiver.render(resolve, previous_ref=delivered.ref))
        except ReceiverError as exc:
            print(f"the resolve failed, so the test alert may stay open: {exc}", file=err)
            return 1
        print("sent: its resolve, so the test alert does not stay open", file=out)
        return 0


async def _close_unconfirmed(
    receiver: Receiver, trigger: Notification, clock: Clock, out: TextIO
) -> None:
    """Resolve a trigger whose fate is unknown (a timeout or a 5xx may still have landed)."""
    # The trigger's error is what the user needs; this is cleanup, so its failure is quiet.
    with contextlib.suppress(ReceiverError):
        await receiver.send(receiver.render(resolve_of(trigger, clock.now())))
        print("sent a resolve anyway, in case the test alert arrived", file=out)
