"""The forwarding receiver against a real Alertmanager (Debian's prometheus-alertmanager)
on loopback: what it posts is accepted, listed with Alertmanager's own fingerprint, and
taken off the list when resolved."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from alertd.errors import ReceiverError
from alertd.notify.am_fingerprint import am_fingerprint
from alertd.notify.receivers.alertmanager import AlertmanagerReceiver
from tests.notify.fakes import T0, alert, notification

pytestmark = pytest.mark.anyio

BINARY = "prometheus-alertmanager"
START_DEADLINE_SECONDS = 30.0
CONFIG = "route: {receiver: nowhere}\nreceivers: [{name: nowhere}]\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Alertmanager's base URL; it is stopped after the module's tests."""
    binary = shutil.which(BINARY)
    assert binary is not None, f"{BINARY} is not installed (Debian: prometheus-alertmanager)"
    folder: Path = tmp_path_factory.mktemp("alertmanager")
    (folder / "alertmanager.yml").write_text(CONFIG)
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address={address}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}"
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            assert process.poll() is None, "Alertmanager exited at start"
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Alertmanager was not ready in time"
            time.sleep(0.05)  # a process starting: poll its readiness with a deadline
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def listed(url: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{url}/api/v2/alerts", timeout=5)
    answer.raise_for_status()
    found: list[dict[str, object]] = answer.json()
    return found


async def test_forwarded_alerts_fire_and_resolve_in_alertmanager(alertmanager: str) -> None:
    firing = notification(alert(labels=(("table", "users"), ("team", "db"))))
    async with httpx.AsyncClient() as client:
        receiver = AlertmanagerReceiver("am", SecretStr(alertmanager), client=client)
        await receiver.send(receiver.render(firing))
        (shown,) = listed(alertmanager)
        labels = {
            "alertname": "SlowQueryP95",
            "table": "users",
            "team": "db",
            "severity": "critical",
        }
        assert shown["labels"] == labels
        assert shown["fingerprint"] == am_fingerprint(labels)
        assert shown["annotations"] == {
            "summary": "P95 query time on users is 212 ms",
            "description": "See the runbook.",
        }
        assert shown["startsAt"] == "2025-03-01T11:55:00.000Z"
        assert shown["generatorURL"] == "https://alertd.example/alerts/5f2c1d9e8a7b6c4d"

        # A resolve carries the severity the alert last had, so the labels are the same.
        ended = replace(
            firing,
            firing=False,
            alerts=tuple(replace(a, firing=False, ends_at=T0) for a in firing.alerts),
        )
        await receiver.send(receiver.render(ended))
        assert listed(alertmanager) == []


async def test_a_refused_post_is_an_error_that_is_not_retried(alertmanager: str) -> None:
    async with httpx.AsyncClient() as client:
        receiver = AlertmanagerReceiver("am", SecretStr(alertmanager + "/nowhere"), client=client)
        with pytest.raises(ReceiverError) as caught:
            await receiver.send(receiver.render(notification()))
    assert not caught.value.retryable
    assert "alertmanager receiver 'am': HTTP 404" in str(caught.value)


async def test_a_forward_sent_again_by_a_new_leader_is_one_alert(alertmanager: str) -> None:
    firing = notification(alert(labels=(("table", "users"), ("team", "db"))))
    async with httpx.AsyncClient() as client:
        receiver = AlertmanagerReceiver("am", SecretStr(alertmanager), client=client)
        payload = receiver.render(firing)
        await receiver.send(payload)
        await receiver.send(receiver.render(firing))  # the send in doubt, made again
    assert dict(payload.headers)["Idempotency-Key"] == firing.id
    assert len(listed(alertmanager)) == 1
