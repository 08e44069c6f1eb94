"""Is a breach real, given how few sampled rows stand behind it? The statistics, pure.

AE samples: a row stands for `_sample_interval` events, so a P95 or a ratio over a few
dozen raw rows can sit past its bound by chance. Both kinds of rule reduce to one
question about a weighted proportion `share` of rows (a ratio's matching rows; the rows of
a quantile's argument above a bound) compared with a proportion `p0` (the ratio's bound;
`1 - q` for a quantile). The rows are weighted, so they count as Kish's effective sample
size `(Σw)² / Σw²`, never more than the raw rows and less when a few heavy rows dominate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from alertd.query.evidence import Evidence, Proportion
from alertd.rules.thresholds import Threshold
from alertd.rules.units import value_in_unit

Side = Literal["above", "below"]

# The continued fraction converges in a few dozen steps for any n it meets here.
_MAX_ITERATIONS = 500
_EPSILON = 3e-16
_TINY = 1e-300


def wilson_interval(share: float, n: float, confidence: float) -> tuple[float, float]:
    """The one-sided Wilson score bounds at `confidence`: the true proportion lies above
    the first (and, separately, below the second) with that confidence. Wilson's interval
    stays inside [0, 1] and keeps its coverage for shares near 0 or 1 and small n, where
    the normal approximation fails."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(confidence)
    z2 = z * z
    centre = share + z2 / (2 * n)
    spread = z * math.sqrt(max(share * (1 - share), 0.0) / n + z2 / (4 * n * n))
    scale = 1 + z2 / n
    # Clamped to the share itself: at a share of 0 or 1 rounding could leave it outside.
    low = min(share, max(0.0, (centre - spread) / scale))
    return low, max(share, min(1.0, (centre + spread) / scale))


def binomial_upper_tail(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), extended to real k and n through the
    regularized incomplete beta I_p(k, n - k + 1) (effective sizes are not integers)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return regularized_beta(p, k, n - k + 1)


def binomial_lower_tail(k: float, n: float, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), extended to real k and n."""
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    return regularized_beta(1 - p, n - k, k + 1)


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The fraction converges fast only on this side of the mean; use the symmetry otherwise.
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < _EPSILON:
            break
    return result


def ratio_beyond(proportion: Proportion, bound: float, side: Side, confidence: float) -> bool:
    """Whether a ratio is, with `confidence`, on `side` of `bound` (Wilson interval)."""
    low, high = wilson_interval(proportion.share, proportion.effective, confidence)
    return low > bound if side == "above" else high < bound


def share_beyond(proportion: Proportion, p0: float, side: Side, confidence: float) -> bool:
    """Whether the share of rows past a bound is, with `confidence`, on `side` of `p0`:
    a one-sided binomial test on the effective rows (a quantile is past its bound exactly
    when more than `1 - q` of the weight is)."""
    n = proportion.effective
    k = proportion.share * n
    if side == "above":
        return binomial_upper_tail(k, n, p0) <= 1 - confidence
    return binomial_lower_tail(k, n, p0) <= 1 - confidence


@dataclass(frozen=True)
class Weighed:
    """Whether the rows show `value op bound` with the rule's confidence, and why, in the
    words a page gives: "61 of 480 sampled rows above 150 ms, 95 % confident"."""

    sure: bool
    words: str
    # False when even the most one-sided rows could not make it sure: too few to decide.
    decidable: bool = True


def weigh(evidence: Evidence, threshold: Threshold, confidence: float) -> Weighed | None:
    """Weigh `threshold` against the rows; None for a comparison no test answers (==, !=)
    or a bound the evidence was not measured at."""
    side: Side | None = "above" if threshold.upward else "below" if threshold.downward else None
    if side is None:
        return None
    percent = f"{confidence * 100:.3g} %"
    extreme = 1.0 if side == "above" else 0.0
    if evidence.ratio is not None:
        proportion = evidence.ratio
        sure = ratio_beyond(proportion, threshold.bound, side, confidence)
        utmost = dataclasses.replace(proportion, share=extreme)
        decidable = ratio_beyond(utmost, threshold.bound, side, confidence)
        rows = f"{proportion.rows} of {proportion.of} sampled rows match"
    else:
        assert evidence.level is not None
        assert evidence.above is not None
        found = evidence.above.get(threshold.bound)
        if found is None:
            return None
        proportion = found
        sure = share_beyond(proportion, 1 - evidence.level, side, confidence)
        utmost = dataclasses.replace(proportion, share=extreme)
        decidable = share_beyond(utmost, 1 - evidence.level, side, confidence)
        limit = _shown(threshold.bound, threshold.unit)
        rows = f"{proportion.rows} of {proportion.of} sampled rows above {limit}"
    if not decidable:
        return Weighed(False, f"{rows}, too few to be {percent} confident", decidable=False)
    return Weighed(sure, f"{rows}, {'' if sure else 'not '}{percent} confident")


def mirror(threshold: Threshold) -> Threshold:
    """The condition that the value is on the quiet side of `threshold`: what recovery
    must show, with the same confidence, when a rule has no `recover`."""
    op = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}.get(threshold.op, threshold.op)
    return dataclasses.replace(threshold, op=op, text=f"{op} {threshold.text.lstrip('<>=! ')}")


def _shown(bound: float, unit: str | None) -> str:
    return f"{bound:.6g}" if unit is None else value_in_unit(bound, unit)
