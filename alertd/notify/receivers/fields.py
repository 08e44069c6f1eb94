"""The field types a receiver's configuration is written in.

Every text setting may use `${VAR}` or `${VAR:-default}` (`$$` is a literal `$`), read from
an injected environment when the file loads (`alertd.notify.receiver_config`); a
credential may instead be read from a file named by its `*_file` twin. Credentials are
`SecretStr` from the moment they are read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr
from pydantic_core import PydanticCustomError

from alertd.env_refs import expand
from alertd.notify.receivers import templates
from alertd.rules.templates import TemplateError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _references(value: Any) -> Any:
    expand(value.get_secret_value() if isinstance(value, SecretStr) else value, {})
    return value


Secret = Annotated[SecretStr, AfterValidator(_references)]
Text = Annotated[str, AfterValidator(_references)]


def _template(source: str) -> str:
    try:
        templates.check(source)
    except TemplateError as exc:
        # The offset of the failing line travels in the error's context, so the error is
        # placed at that line in the file.
        offset = sum(len(line) for line in source.splitlines(keepends=True)[: exc.line - 1])
        raise PydanticCustomError(
            "template", "template: {reason}", {"reason": str(exc), "offset": offset}
        ) from None
    return source


# A Jinja template over the notification (`receivers.templates`).
Template = Annotated[str, AfterValidator(_references), AfterValidator(_template)]


class Integration(Strict):
    """One receiver's settings for its service, as written under its kind's key."""

    def _exactly_one(self, *names: str, required: bool = True) -> list[str]:
        given = [name for name in names if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"set only one of {', '.join(given)}")
        if required and not given:
            raise ValueError(f"set one of {', '.join(names)}")
        return given

    def secret(self, name: str) -> SecretStr:
        """The credential `name`, read by now from its value or its `*_file`."""
        value = getattr(self, name)
        if not isinstance(value, SecretStr):
            raise ValueError(f"a resolved receiver lacks its {name}")
        return value
