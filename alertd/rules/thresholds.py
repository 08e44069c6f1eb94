"""Thresholds such as `> 200`, `< 70%` or `>= 0.05`: a comparison against a constant."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_THRESHOLD = re.compile(
    r"^\s*(>=|<=|==|!=|>|<)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Threshold:
    """`value op bound`; `text` is what the rule file said, for messages."""

    op: str
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.bound)

    @property
    def upward(self) -> bool:
        """True when the condition is about values being too high."""
        return self.op in (">", ">=")

    @property
    def downward(self) -> bool:
        return self.op in ("<", "<=")


def parse_threshold(text: str | int | float) -> Threshold:
    """Parse `> 200` or `< 70%` (a percent is divided by 100); raise ValueError if invalid."""
    if not isinstance(text, str):
        raise ValueError(f"a threshold needs a comparison, e.g. '> {text}'")
    match = _THRESHOLD.match(text)
    if match is None:
        raise ValueError(f"invalid threshold {text!r}: expected e.g. '> 200', '<= 0.7' or '< 70%'")
    op, number, percent = match.groups()
    bound = float(number) / (100.0 if percent else 1.0)
    if not math.isfinite(bound):
        raise ValueError(f"threshold {text!r} is out of range")
    return Threshold(op, bound, text.strip())
