"""A receiver is one module and one registry line: the notification file, the builder and
`alertd check` know every registered kind, and nothing else."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from alertd.notify.build import DEFAULT_RATES, build_receivers
from alertd.notify.config import load_notify
from alertd.notify.receivers.base import Receiver
from alertd.notify.receivers.registry import BY_KEY, RECEIVERS

# Settings each kind is tried with; a kind registered without one here fails the test.
EXAMPLES = {
    "slack": '{webhook_url: "https://hooks.slack.test/services/T0/B0/xyzSECRETxyzSECRET"}',
    "teams": '{webhook_url: "https://teams.test/workflows/run?sig=SIGsecretSIGsecret"}',
    "pagerduty": '{routing_key: "pdROUTINGkeySECRET00000000000001"}',
    "webhook": '{url: "https://hooks.test/in"}',
    "console": "{format: json}",
    "alertmanager": '{url: "http://127.0.0.1:9093"}',
}


def test_every_registered_kind_has_a_settings_model_a_builder_and_a_rate() -> None:
    assert set(EXAMPLES) == set(BY_KEY)
    for kind in RECEIVERS:
        assert issubclass(kind.settings, BaseModel)
        assert kind.settings.model_config.get("extra") == "forbid"
        assert callable(kind.build)
        assert DEFAULT_RATES[kind.key] == kind.rate > 0


@pytest.mark.anyio
@pytest.mark.parametrize("key", sorted(EXAMPLES))
async def test_a_registered_kind_is_read_from_the_file_and_built(tmp_path: Path, key: str) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        f"receivers:\n  - name: it\n    {key}: {EXAMPLES[key]}\nroute:\n  receiver: it\n"
    )
    config, errors = load_notify(path, env={})
    assert errors == []
    assert config is not None
    assert config.receivers["it"].kind == key
    async with httpx.AsyncClient() as client:
        built, rates = build_receivers(config, client, io.StringIO())
    receiver: Receiver = built["it"]
    assert receiver.name == "it"
    assert all(callable(getattr(receiver, m)) for m in ("render", "send", "redact"))
    assert rates == {"it": BY_KEY[key].rate}


def test_an_unregistered_kind_is_an_unknown_key_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("receivers:\n  - name: it\n    pigeon: {}\nroute:\n  receiver: it\n")

    config, errors = load_notify(path, env={})

    assert config is None
    assert [str(e) for e in errors] == [f"{path}:3:5: receivers[0].pigeon: unknown key 'pigeon'"]
