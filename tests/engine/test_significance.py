"""The interval and test computations against exact references computed here: binomial
tails as sums of math.comb terms in exact fractions, Wilson bounds by their defining
equation."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.engine.significance import (
    binomial_lower_tail,
    binomial_upper_tail,
    share_beyond,
    wilson_interval,
)
from alertd.query.evidence import Proportion, effective_size

probabilities = st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(999, 1000))


def exact_upper_tail(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)), Fraction(0))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 150), data=st.data(), p=probabilities)
def test_binomial_tails_equal_exact_sums(n: int, data: st.DataObject, p: Fraction) -> None:
    k = data.draw(st.integers(0, n))
    upper = exact_upper_tail(k, n, p)
    lower = 1 - exact_upper_tail(k + 1, n, p)
    assert binomial_upper_tail(k, n, float(p)) == pytest.approx(float(upper), rel=1e-9, abs=1e-13)
    assert binomial_lower_tail(k, n, float(p)) == pytest.approx(float(lower), rel=1e-9, abs=1e-13)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 2000),
    data=st.data(),
    confidence=st.sampled_from((0.8, 0.9, 0.95, 0.99)),
)
def test_wilson_bounds_solve_the_score_equation(
    n: int, data: st.DataObject, confidence: float
) -> None:
    k = data.draw(st.integers(0, n))
    share = k / n
    low, high = wilson_interval(share, n, confidence)
    z = NormalDist().inv_cdf(confidence)
    assert low <= share <= high
    # Each bound p is where the observed share lies exactly z standard errors from p.
    for bound in (low, high):
        if 0 < bound < 1:
            assert (share - bound) ** 2 * n == pytest.approx(z * z * bound * (1 - bound), rel=1e-7)
    assert (low == 0) == (k == 0)
    assert (high == 1) == (k == n)


def size_of(rows: list[tuple[int, bool]]) -> tuple[float, float]:
    """The share of weight on the side, and the effective size, of (weight, on side) rows."""
    weights = sum(w for w, _ in rows)
    share = sum(w for w, on in rows if on) / weights
    squares = sum(w * w for w, _ in rows)
    on_side = sum(w * w for w, on in rows if on)
    return share, effective_size(share, weights, squares, on_side)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.just(3), st.booleans()), min_size=1, max_size=200))
def test_effective_size_of_equally_weighted_rows_is_their_count(
    rows: list[tuple[int, bool]],
) -> None:
    assert size_of(rows)[1] == pytest.approx(len(rows))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from((1, 2, 5, 10, 100)), st.booleans()), min_size=1, max_size=200
    )
)
def test_effective_size_equals_the_linearized_variance_of_the_weighted_share(
    rows: list[tuple[int, bool]],
) -> None:
    share, n = size_of(rows)
    if 0 < share < 1:
        total = Fraction(sum(w for w, _ in rows))
        exact = Fraction(share)
        variance = sum(w * w * (int(on) - exact) ** 2 for w, on in rows) / total**2
        assert n == pytest.approx(float(exact * (1 - exact) / variance), rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 120),
    data=st.data(),
    p0=st.sampled_from((Fraction(1, 20), Fraction(1, 100), Fraction(1, 10), Fraction(1, 2))),
    confidence=st.sampled_from((Fraction(9, 10), Fraction(95, 100), Fraction(99, 100))),
)
def test_a_share_is_significant_exactly_when_the_exact_tail_is_small(
    n: int, data: st.DataObject, p0: Fraction, confidence: Fraction
) -> None:
    k = data.draw(st.integers(0, n))
    proportion = Proportion(k / n, float(n), k, n)
    upper = exact_upper_tail(k, n, p0)
    lower = 1 - exact_upper_tail(k + 1, n, p0)
    alpha = 1 - confidence
    # Away from the edge, where float rounding could tip the comparison either way.
    if abs(upper - alpha) > Fraction(1, 10**9):
        assert share_beyond(proportion, float(p0), "above", float(confidence)) == (upper <= alpha)
    if abs(lower - alpha) > Fraction(1, 10**9):
        assert share_beyond(proportion, float(p0), "below", float(confidence)) == (lower <= alpha)


def test_one_heavy_row_among_a_few_dozen_is_no_significant_p95_breach() -> None:
    # 40 raw rows; the one above the bound weighs 10, so it holds 10/49 of the weight.
    share, effective = size_of([(1, False)] * 39 + [(10, True)])
    proportion = Proportion(share, effective, 1, 40)
    assert share > 0.05  # the weighted P95 is above the bound
    assert not share_beyond(proportion, 0.05, "above", 0.95)


def test_many_rows_above_the_bound_are_a_significant_p95_breach() -> None:
    proportion = Proportion(61 / 480, 480.0, 61, 480)
    assert share_beyond(proportion, 0.05, "above", 0.95)
