"""Values as people read them: a rule's `unit:` and the humanize filters of templates."""

from __future__ import annotations

import math
import re

PERCENT = "percent"
# Named units; any other text is a suffix printed after the number (`req/s`).
NAMED_UNITS = frozenset({PERCENT, "ms", "s", "bytes", "count"})
# A suffix is printed on pages as is: short, and nothing a receiver's markup could act on.
_SUFFIX = re.compile(r"[A-Za-z0-9%/°µ._-]+(?: [A-Za-z0-9%/°µ._-]+)*")
MAX_SUFFIX = 16
_BINARY_PREFIXES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SI_UP = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")
_SI_DOWN = ("", "m", "µ", "n", "p", "f", "a", "z", "y")


def parse_unit(text: object) -> str:
    """A rule's `unit:`; raise ValueError unless it is a named unit or a plain short suffix."""
    if isinstance(text, str) and len(text) <= MAX_SUFFIX and _SUFFIX.fullmatch(text):
        return text
    named = ", ".join(sorted(NAMED_UNITS))
    raise ValueError(
        f"unit must be one of {named}, or a suffix of at most {MAX_SUFFIX} letters, digits,"
        " spaces or % / . _ - ° µ (e.g. 'req/s')"
    )


def number_text(value: float) -> str:
    """`212.35`, `1,234,567`, `0.0512`: two decimals at most from 1 up, 3 figures below."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def value_in_unit(value: float, unit: str) -> str:
    """`11.8 %` for 0.118 in percent, `130.6 ms`, `1.5 MiB`, `12,345` in count, `3 req/s`."""
    if not math.isfinite(value):
        return str(value)
    if unit == PERCENT:
        return f"{number_text(value * 100)} %"
    if unit == "bytes":
        return _bytes(value)
    if unit == "count":
        return f"{round(value):,}"
    return f"{number_text(value)} {unit}"


def threshold_in_unit(op: str, bound: float, unit: str) -> str:
    """`> 5 %` for `> 5%` in percent: the comparison and its bound in the rule's unit."""
    return f"{op} {value_in_unit(bound, unit)}"


def _bytes(value: float) -> str:
    size, step = abs(value), 0
    while size >= 1024 and step < len(_BINARY_PREFIXES) - 1:
        size, step = size / 1024, step + 1
    sign = "-" if value < 0 else ""
    return f"{sign}{number_text(size)} {_BINARY_PREFIXES[step]}"


def humanize(value: float) -> str:
    """SI prefixes as Prometheus' `humanize`: 1234567 -> `1.235M`, 0.0012 -> `1.2m`."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:.4g}"
    size, step = abs(value), 0
    if size >= 1:
        while size >= 1000 and step < len(_SI_UP) - 1:
            size, step = size / 1000, step + 1
        prefix = _SI_UP[step]
    else:
        while size < 1 and step < len(_SI_DOWN) - 1:
            size, step = size * 1000, step + 1
        prefix = _SI_DOWN[step]
    return f"{math.copysign(size, value):.4g}{prefix}"


def humanize_percentage(value: float) -> str:
    """A ratio as a percent, as Prometheus' `humanizePercentage`: 0.118 -> `11.8%`."""
    return f"{float(value) * 100:.4g}%"


def humanize_duration(seconds: float) -> str:
    """Seconds as Prometheus' `humanizeDuration` says them: 90 -> `1m 30s`, 0.25 -> `250ms`."""
    seconds = float(seconds)
    if not math.isfinite(seconds):
        return f"{seconds}"
    if abs(seconds) < 1:
        if seconds == 0:
            return "0s"
        return f"{seconds * 1000:.4g}ms"
    sign = "-" if seconds < 0 else ""
    if abs(seconds) < 60:
        return f"{seconds:.4g}s"
    whole = int(abs(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{name}" for n, name in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if secs or not parts:
        parts.append(f"{secs}s")
    return sign + " ".join(parts)
