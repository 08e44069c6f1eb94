"""`alertd silence --url`: the same actions through a running daemon's HTTP API, whose
Alertmanager-compatible silence endpoints need the API token for changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from alertd.notify.matchers import Matcher, Op
from alertd.notify.silences import Silence

TIMEOUT_SECONDS = 10.0


class RemoteError(Exception):
    """The daemon could not be reached, or refused; the message says which and why."""


class RemoteSilences:
    """Silences kept by the daemon at `url`, asked over HTTP with the bearer `token`."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.url + "/api/v2", headers=headers, timeout=TIMEOUT_SECONDS
        )

    def close(self) -> None:
        self._client.close()

    def add(self, silence: Silence) -> str:
        """Store the silence; the id the daemon gave it."""
        body = {
            "matchers": [_matcher_json(m) for m in silence.matchers],
            "startsAt": silence.starts_at.isoformat(),
            "endsAt": silence.ends_at.isoformat(),
            "createdBy": silence.created_by,
            "comment": silence.comment,
        }
        answer = self._ask("POST", "/silences", json=body)
        return str(answer["silenceID"])

    def silences(self) -> list[Silence]:
        return [_silence(item) for item in self._ask("GET", "/silences")]

    def get(self, silence_id: str) -> Silence | None:
        try:
            return _silence(self._ask("GET", f"/silence/{silence_id}"))
        except _NotFound:
            return None

    def expire(self, silence_id: str) -> None:
        self._ask("DELETE", f"/silence/{silence_id}")

    def alerts(self) -> list[dict[str, Any]]:
        """The daemon's firing alerts, as its Alertmanager-compatible API shows them."""
        return list(self._ask("GET", "/alerts"))

    def _ask(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 404 and path.startswith("/silence/"):
            raise _NotFound
        if response.status_code != 200:
            raise RemoteError(
                f"{self.url} answered HTTP {response.status_code}: {_message(response)}"
            )
        return response.json()


class _NotFound(Exception):
    pass


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _matcher_json(matcher: Matcher) -> dict[str, object]:
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": "~" in matcher.op,
        "isEqual": not matcher.op.startswith("!"),
    }


def _silence(item: dict[str, Any]) -> Silence:
    ops: dict[tuple[bool, bool], Op] = {
        (False, True): "=",
        (False, False): "!=",
        (True, True): "=~",
        (True, False): "!~",
    }
    matchers = tuple(
        Matcher(m["name"], ops[(m["isRegex"], m.get("isEqual", True))], m["value"])
        for m in item["matchers"]
    )
    return Silence(
        item["id"],
        matchers,
        dt.datetime.fromisoformat(item["startsAt"]),
        dt.datetime.fromisoformat(item["endsAt"]),
        item["createdBy"],
        item["comment"],
    )
