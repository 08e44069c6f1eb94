"""Receivers as the notification file declares them, and their secrets made real.

Each receiver names at most one kind (`receivers.registry`), whose model checks its
settings. Secrets are read from an injected environment or `*_file` paths (see
`receivers.fields`); no message here contains one. A receiver whose variables are unset
or empty, or whose file is missing or empty, is skipped with one reason; anything else
wrong is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model, model_validator

from alertd.env_refs import expand
from alertd.notify.am_receivers import (
    AM_LISTS,
    GlobalSpec,
    PagerDutyEntry,
    SlackEntry,
    TeamsEntry,
    WebhookEntry,
    entry_name,
)
from alertd.notify.receivers.base import ReceiverKind
from alertd.notify.receivers.fields import Strict
from alertd.notify.receivers.registry import BY_KEY, RECEIVERS, kind_of

_URL_FIELDS = frozenset({"webhook_url", "url"})
KINDS = tuple(BY_KEY)


class _ReceiverFields(Strict):
    """A name and at most one integration in our syntax, and any number in Alertmanager's
    `*_configs` lists (none at all discards alerts); one optional field per registered
    kind is added below."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=64)
    send_resolved: bool | None = None
    slack_configs: list[SlackEntry] = Field(default_factory=list)
    pagerduty_configs: list[PagerDutyEntry] = Field(default_factory=list)
    webhook_configs: list[WebhookEntry] = Field(default_factory=list)
    msteamsv2_configs: list[TeamsEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_integration(self) -> _ReceiverFields:
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

    @property
    def integration(self) -> BaseModel | None:
        kind = self.kind
        return None if kind is None else getattr(self, kind)


if TYPE_CHECKING:
    ReceiverSpec = _ReceiverFields
else:
    # One optional field per registered kind, named by its key.
    ReceiverSpec = create_model(
        "ReceiverSpec",
        __base__=_ReceiverFields,
        __doc__="One receiver as written.",
        **{kind.key: (kind.settings | None, None) for kind in RECEIVERS},
    )


@dataclass(frozen=True)
class Receiver:
    """A receiver ready to build: secrets expanded into its integration's settings.

    `integration` None is Alertmanager's null receiver: alerts routed there are dropped.
    """

    name: str
    send_resolved: bool
    integration: BaseModel | None

    @property
    def kind(self) -> str | None:
        return None if self.integration is None else kind_of(self.integration).key

    @property
    def built_by(self) -> ReceiverKind[Any] | None:
        return None if self.integration is None else kind_of(self.integration)


@dataclass(frozen=True)
class SkippedReceiver:
    """A receiver left out because a secret it needs was not provided."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


# A field path below the integration (e.g. "webhook_url") and what is wrong with it.
FieldError = tuple[str, str]
# Where an integration is written below its receiver: ("slack",) or ("slack_configs", 0).
Place = tuple[str | int, ...]


@dataclass(frozen=True)
class Written:
    """One integration of a receiver as written, in either syntax, under the name it is
    sent as; `settings` None is the null receiver."""

    name: str
    send_resolved: bool | None
    settings: BaseModel | None
    place: Place
    # Alertmanager's name for each of our settings it names differently.
    written_name: Mapping[str, str]


def integrations(
    spec: ReceiverSpec, defaults: GlobalSpec
) -> tuple[list[Written], list[tuple[Place, str]]]:
    """Every integration of a receiver, ours first, then the `*_configs` entries in order,
    and the errors of entries that do not make a valid integration."""
    found: list[Written] = []
    errors: list[tuple[Place, str]] = []
    if spec.integration is not None:
        found.append(
            Written(spec.name, spec.send_resolved, spec.integration, (spec.kind or "",), {})
        )
    for key in AM_LISTS:
        for index, entry in enumerate(getattr(spec, key)):
            place: Place = (key, index)
            kind = BY_KEY[entry.kind]
            try:
                settings = kind.settings.model_validate(entry.settings(defaults))
            except ValidationError as exc:
                for error in exc.errors():
                    where = tuple(str(p) for p in error["loc"])
                    named = tuple(entry.written_name(p) for p in where)
                    errors.append(((*place, *named), _am_message(error["msg"], entry)))
                continue
            mine = {ours: am for am, ours in entry.renamed.items()}
            name = entry_name(spec.name, len(found))
            found.append(Written(name, entry.send_resolved, settings, place, mine))
    if not found:
        found.append(Written(spec.name, spec.send_resolved, None, (), {}))
    return found, errors


def _am_message(message: str, entry: BaseModel) -> str:
    """pydantic's message about our settings, in the names Alertmanager's entry uses."""
    message = message.removeprefix("Value error, ")
    for am, ours in getattr(entry, "renamed", {}).items():
        message = message.replace(ours, am)
    return message


def resolve(
    spec: Written, env: Mapping[str, str], base: Path, send_resolved: bool
) -> Receiver | SkippedReceiver | list[FieldError]:
    """The receiver with its secrets read; skipped when one is not provided.

    Relative `*_file` paths are taken from `base`, the notification file's folder.
    """
    resolved = spec.send_resolved if spec.send_resolved is not None else send_resolved
    integration = spec.settings
    if integration is None:
        return Receiver(spec.name, resolved, None)
    updates: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in integration:
        if value is None:
            continue
        outcome = _read_field(field, value, env, base)
        if isinstance(outcome, _Skip):
            first, sep, rest = outcome.reason.partition(" ")
            return SkippedReceiver(spec.name, spec.written_name.get(first, first) + sep + rest)
        if isinstance(outcome, _Error):
            errors.append((spec.written_name.get(field, field), outcome.message))
            continue
        target, final = outcome
        updates[target] = final
        if target != field:
            updates[field] = None
        if target in _URL_FIELDS and not _is_http_url(_plain(final)):
            errors.append(
                (
                    spec.written_name.get(field, field),
                    "is not an http(s) URL once expanded (value not shown)",
                )
            )
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
