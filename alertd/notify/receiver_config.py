"""Receivers as the notification file declares them, and their secrets made real.

Every text setting may use `${VAR}` or `${VAR:-default}` (`$$` is a literal `$`), read from
an injected environment; a credential may instead be read from a file named by its
`*_file` twin (a Kubernetes secret or systemd credential), trailing whitespace removed.
Credentials are `SecretStr` from the moment they are read, and no message here contains
one. A receiver whose variables are unset or empty, or whose file is missing or empty, is
skipped with one reason; anything else wrong is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from alertd.notify.group_templates import check_group_template

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL_FIELDS = frozenset({"webhook_url", "url"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def expand(text: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """`text` with its `${…}` references replaced, and why it is incomplete (None if it is).

    Raises ValueError on a malformed reference; the message never repeats the text.
    """
    out: list[str] = []
    missing: str | None = None
    position = 0
    while (dollar := text.find("$", position)) >= 0:
        out.append(text[position:dollar])
        if text.startswith("$$", dollar) or not text.startswith("${", dollar):
            out.append("$")
            position = dollar + (2 if text.startswith("$$", dollar) else 1)
            continue
        end = text.find("}", dollar)
        if end < 0:
            raise ValueError("unterminated ${ (write $$ for a literal $)")
        name, has_default, default = text[dollar + 2 : end].partition(":-")
        if not _VARIABLE.fullmatch(name):
            raise ValueError("a reference must read ${NAME} or ${NAME:-default}")
        value = env.get(name, "")
        if value:
            out.append(value)
        elif has_default:
            out.append(default)
        elif missing is None:
            missing = f"{name} is empty" if name in env else f"{name} is not set"
        position = end + 1
    out.append(text[position:])
    return "".join(out), missing


def _template(value: Any) -> Any:
    expand(value.get_secret_value() if isinstance(value, SecretStr) else value, {})
    return value


Secret = Annotated[SecretStr, AfterValidator(_template)]
Text = Annotated[str, AfterValidator(_template)]
GroupTemplate = Annotated[str, AfterValidator(_template), AfterValidator(check_group_template)]


class _Integration(Strict):
    def _exactly_one(self, *names: str, required: bool = True) -> list[str]:
        given = [name for name in names if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"set only one of {', '.join(given)}")
        if required and not given:
            raise ValueError(f"set one of {', '.join(names)}")
        return given


class SlackConfig(_Integration):
    """An incoming webhook, or a bot token and channel (so messages can be updated)."""

    webhook_url: Secret | None = None
    webhook_url_file: Text | None = None
    bot_token: Secret | None = None
    bot_token_file: Text | None = None
    channel: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> SlackConfig:
        given = self._exactly_one("webhook_url", "webhook_url_file", "bot_token", "bot_token_file")
        if given[0].startswith("bot_token") and self.channel is None:
            raise ValueError("a bot_token needs a channel, e.g. channel: '#alerts'")
        if given[0].startswith("webhook_url") and self.channel is not None:
            raise ValueError("a webhook posts to its own channel; channel needs a bot_token")
        return self


class TeamsConfig(_Integration):
    """A Teams Workflows webhook; its URL carries the credential (`sig`)."""

    webhook_url: Secret | None = None
    webhook_url_file: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> TeamsConfig:
        self._exactly_one("webhook_url", "webhook_url_file")
        return self


class PagerDutyConfig(_Integration):
    """PagerDuty Events API v2: an integration's routing key and the endpoint, and the
    event's `source`, `component`, `group` and `class`, each a plain string or a template
    over the group (None: alertd's defaults)."""

    routing_key: Secret | None = None
    routing_key_file: Text | None = None
    url: Text = PAGERDUTY_EVENTS_URL
    source: GroupTemplate | None = None
    component: GroupTemplate | None = None
    group: GroupTemplate | None = None
    class_: GroupTemplate | None = Field(default=None, alias="class")

    @property
    def templates(self) -> dict[str, str]:
        """The event fields this receiver sets itself, by PagerDuty's name for them."""
        given = {"source": self.source, "component": self.component, "group": self.group}
        given["class"] = self.class_
        return {key: text for key, text in given.items() if text is not None}

    @model_validator(mode="after")
    def _one_way(self) -> PagerDutyConfig:
        self._exactly_one("routing_key", "routing_key_file")
        return self


class WebhookConfig(_Integration):
    """Alertmanager-shaped JSON to any URL, with an optional bearer token or HMAC signature."""

    url: Secret | None = None
    url_file: Text | None = None
    bearer_token: Secret | None = None
    bearer_token_file: Text | None = None
    hmac_secret: Secret | None = None
    hmac_secret_file: Text | None = None
    max_alerts: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_way(self) -> WebhookConfig:
        self._exactly_one("url", "url_file")
        self._exactly_one("bearer_token", "bearer_token_file", required=False)
        self._exactly_one("hmac_secret", "hmac_secret_file", required=False)
        return self


class ConsoleConfig(_Integration):
    """Lines on standard output: readable text, or one JSON object per line."""

    format: Literal["text", "json"] = "text"


Integration = SlackConfig | TeamsConfig | PagerDutyConfig | WebhookConfig | ConsoleConfig
KINDS = ("slack", "teams", "pagerduty", "webhook", "console")


class ReceiverSpec(Strict):
    """One receiver as written: a name and at most one integration (none discards alerts)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=64)
    send_resolved: bool | None = None
    slack: SlackConfig | None = None
    teams: TeamsConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    webhook: WebhookConfig | None = None
    console: ConsoleConfig | None = None

    @model_validator(mode="after")
    def _one_integration(self) -> ReceiverSpec:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) > 1:
            raise ValueError(
                f"a receiver has one integration, found {' and '.join(given)}: "
                "make one receiver each and route with continue: true"
            )
        return self

    @property
    def kind(self) -> str | None:
        return next((kind for kind in KINDS if getattr(self, kind) is not None), None)


@dataclass(frozen=True)
class Receiver:
    """A receiver ready to build: secrets expanded into its integration's settings.

    `integration` None is Alertmanager's null receiver: alerts routed there are dropped.
    """

    name: str
    send_resolved: bool
    integration: Integration | None

    @property
    def kind(self) -> str | None:
        return None if self.integration is None else _KIND_OF[type(self.integration)]


@dataclass(frozen=True)
class SkippedReceiver:
    """A receiver left out because a secret it needs was not provided."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


_KIND_OF: dict[type[BaseModel], str] = {
    SlackConfig: "slack",
    TeamsConfig: "teams",
    PagerDutyConfig: "pagerduty",
    WebhookConfig: "webhook",
    ConsoleConfig: "console",
}

# A field path below the integration (e.g. "webhook_url") and what is wrong with it.
FieldError = tuple[str, str]


def resolve(
    spec: ReceiverSpec, env: Mapping[str, str], base: Path, send_resolved: bool
) -> Receiver | SkippedReceiver | list[FieldError]:
    """The receiver with its secrets read; skipped when one is not provided.

    Relative `*_file` paths are taken from `base`, the notification file's folder.
    """
    kind = spec.kind
    resolved = spec.send_resolved if spec.send_resolved is not None else send_resolved
    integration: Integration | None = getattr(spec, kind) if kind else None
    if integration is None:
        return Receiver(spec.name, resolved, None)
    updates: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in integration:
        if value is None:
            continue
        outcome = _read_field(field, value, env, base)
        if isinstance(outcome, _Skip):
            return SkippedReceiver(spec.name, outcome.reason)
        if isinstance(outcome, _Error):
            errors.append((field, outcome.message))
            continue
        target, final = outcome
        updates[target] = final
        if target != field:
            updates[field] = None
        if target in _URL_FIELDS and not _is_http_url(_plain(final)):
            errors.append((field, "is not an http(s) URL once expanded (value not shown)"))
    if errors:
        return errors
    return Receiver(spec.name, resolved, integration.model_copy(update=updates))


@dataclass(frozen=True)
class _Skip:
    reason: str


@dataclass(frozen=True)
class _Error:
    message: str


def _read_field(
    field: str, value: object, env: Mapping[str, str], base: Path
) -> tuple[str, object] | _Skip | _Error:
    if not isinstance(value, str | SecretStr):
        return field, value
    text, missing = expand(_plain(value), env)
    if missing is not None:
        return _Skip(missing)
    if field.endswith("_file"):
        return _read_secret_file(field.removesuffix("_file"), base / text)
    if not text:
        return _Skip(f"{field} is empty")
    return field, SecretStr(text) if isinstance(value, SecretStr) else text


def _read_secret_file(target: str, path: Path) -> tuple[str, object] | _Skip | _Error:
    try:
        content = path.read_text(encoding="utf-8").rstrip()
    except FileNotFoundError:
        return _Skip(f"{target}_file {path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return _Error(f"cannot read {path}: {reason}")
    if not content:
        return _Skip(f"{target}_file {path} is empty")
    return target, SecretStr(content)


def _plain(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _is_http_url(text: str) -> bool:
    return re.match(r"https?://[^/\s]+", text) is not None
