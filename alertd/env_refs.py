"""`${NAME}` and `${NAME:-default}` references to environment variables in config text.

Notification receivers and polled sources both take secrets this way, so a token is never
written into a file that is checked in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
