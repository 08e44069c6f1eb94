"""Text from data made safe for one line of a terminal: what the console receiver and the
transition printer both write."""

from __future__ import annotations

from collections.abc import Iterable

from alertd.rules.units import value_in_unit

# Control characters from data could end a line early and forge another, or drive the
# terminal (ANSI escapes): each prints as an escape, so one alert stays one line.
_ESCAPES = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(chr(code), repr(chr(code))[1:-1])
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}
_LABEL_ESCAPES = {**_ESCAPES, ord("\\"): "\\\\", ord('"'): '\\"'}


def printable(text: str) -> str:
    """`text` with control characters and line separators escaped as `\\n`, `\\x1b`."""
    return text.translate(_ESCAPES)


def labels_line(pairs: Iterable[tuple[str, str]]) -> str:
    """`table="users", env="prod"`, each value quoted and escaped."""
    return ", ".join(f'{printable(k)}="{v.translate(_LABEL_ESCAPES)}"' for k, v in pairs)


def value_line(value: float | None, unit: str | None) -> str:
    """A value for a console line: in its unit, else four significant digits."""
    if value is None:
        return "no data"
    return f"{value:.4g}" if unit is None else printable(value_in_unit(value, unit))
