"""Thresholds such as `> 200`, `< 70%` or `>= 0.05`: a comparison against a constant."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alertd.model import Severity
from alertd.rules.units import threshold_in_unit

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
    """`value op bound`; `text` is what the rule file said, for messages about the file;
    `shown` is how pages say it, in the rule's `unit` when it has one."""

    op: str
    bound: float
    text: str
    unit: str | None = None

    @property
    def shown(self) -> str:
        return self.text if self.unit is None else threshold_in_unit(self.op, self.bound, self.unit)

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


def recover_problem(recover: Threshold, thresholds: Mapping[Severity, Threshold]) -> str | None:
    """Why `recover` does not lie on the quiet side of every threshold, or None if it does.

    The mildest threshold is the one nearest the quiet side, so it alone binds.
    """
    upward = [(s, t) for s, t in thresholds.items() if t.upward]
    downward = [(s, t) for s, t in thresholds.items() if t.downward]
    if upward:
        severity, mildest = min(upward, key=lambda pair: pair[1].bound)
        if not (recover.downward and recover.bound <= mildest.bound):
            where = f"at or below {severity.value} '{mildest.text}'"
            return f"'{recover.text}' must be '<' or '<=' a bound {where}"
    if downward:
        severity, mildest = max(downward, key=lambda pair: pair[1].bound)
        if not (recover.upward and recover.bound >= mildest.bound):
            where = f"at or above {severity.value} '{mildest.text}'"
            return f"'{recover.text}' must be '>' or '>=' a bound {where}"
    return None
