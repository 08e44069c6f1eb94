"""The compact notation for input values, as in Prometheus' rule tests.

Space-separated items, one value per step: `12.5` is one value; `_` is a step with no
point; `a+bxN` is a, a+b, ... a+N*b (N+1 values), `a-bxN` counts down, `axN` is a N+1
times, `_xN` is N+1 steps with no point.
"""

from __future__ import annotations

import re

_EXPANDED = re.compile(
    r"(?P<start>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:(?P<sign>[-+])(?P<step>\d+\.?\d*|\.\d+))?x(?P<times>\d+)"
)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_GAPS = re.compile(r"_x(?P<times>\d+)")
LONGEST = 1_000_000  # values in one series: more is a typo, not a test


def expand(text: str) -> list[float | None]:
    """The values `text` stands for, None where a step has no point; ValueError if unreadable."""
    values: list[float | None] = []
    for item in str(text).split():
        if item == "_":
            values.append(None)
        elif gaps := _GAPS.fullmatch(item):
            values.extend([None] * (int(gaps["times"]) + 1))
        elif run := _EXPANDED.fullmatch(item):
            start = float(run["start"])
            step = float(run["step"] or 0) * (-1 if run["sign"] == "-" else 1)
            values.extend(start + step * n for n in range(int(run["times"]) + 1))
        elif _NUMBER.fullmatch(item):
            values.append(float(item))
        else:
            raise ValueError(
                f"cannot read {item!r}: expected a number, _, a+bxN, a-bxN, axN or _xN"
            )
        if len(values) > LONGEST:
            raise ValueError(f"more than {LONGEST} values")
    return values
