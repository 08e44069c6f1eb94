"""The operators and interval literals AE documents (reference §3), and nothing more.

Judged on sqlglot's tree, and on the tokens where the tree no longer shows how a
statement was spelled.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import sqlglot
from sqlglot import Token, TokenType, exp

# "Interval units: YEAR, MONTH, DAY, HOUR, MINUTE, SECOND": no WEEK, QUARTER or plurals.
INTERVAL_UNITS = frozenset({"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"})
_DIGITS = re.compile(r"[0-9]+")
_UNQUOTED_INTERVAL = "the number of an INTERVAL must be quoted, as in INTERVAL '5' MINUTE"
# The operators of §3 as sqlglot models them; it makes AND and OR functions.
_OPERATORS: frozenset[type] = frozenset(
    {
        exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT,
        exp.GTE, exp.In, exp.Between, exp.Like, exp.ILike, exp.Not, exp.Neg, exp.Paren,
    }
)  # fmt: skip
_OPERATOR_WORDS: dict[type, str] = {
    exp.DPipe: "||",
    exp.IntDiv: "DIV",
    exp.NullSafeEQ: "<=>",
    exp.NullSafeNEQ: "IS DISTINCT FROM",
    exp.SimilarTo: "SIMILAR TO",
}


def refuse_operators(select: exp.Select, sql: str) -> str | None:
    """Why AE would refuse an operator or interval of `select`, parsed from `sql`; else None."""
    for node in select.walk():
        refusal = _refuse_node(node)
        if refusal:
            return refusal
    return _refuse_tokens(sqlglot.tokenize(sql, read="clickhouse"))


def _refuse_node(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Interval):
        return _refuse_interval(node)
    if isinstance(node, exp.In) and node.args.get("is_global"):
        return "GLOBAL IN is not supported"
    if _is_operator(node) and type(node) not in _OPERATORS:
        word = _OPERATOR_WORDS.get(type(node), node.key.upper())
        return f"unsupported operator: {word}"
    return None


def _is_operator(node: exp.Expr) -> bool:
    # Functions with two arguments, pow() say, are Binary to sqlglot; their names are vetted.
    operator = isinstance(node, exp.Binary | exp.Unary | exp.Predicate)
    return operator and not isinstance(node, exp.Func)


def _refuse_interval(interval: exp.Interval) -> str | None:
    unit = interval.args.get("unit")
    name = unit.name.upper() if unit else ""
    if name not in INTERVAL_UNITS:
        return f"unsupported interval unit: {name or '(none)'}"
    number = interval.this
    if isinstance(number, exp.Literal) and number.is_string and _DIGITS.fullmatch(number.name):
        return None
    return _UNQUOTED_INTERVAL


def _refuse_tokens(tokens: Sequence[Token]) -> str | None:
    """sqlglot reads `==` as `=`, `a ? b : c` as if(a, b, c), and `INTERVAL 5 MINUTE` or
    `INTERVAL '5 MINUTE'` as `INTERVAL '5' MINUTE`: only the tokens tell them apart."""
    for token, following in itertools.pairwise(tokens):
        if token.token_type == TokenType.INTERVAL and _unquoted_number(following):
            return _UNQUOTED_INTERVAL
    for token in tokens:
        if token.token_type == TokenType.EQ and token.text == "==":
            return "unsupported operator: =="
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            return "unsupported operator: ? :"
    return None


def _unquoted_number(token: Token) -> bool:
    """`5` or `'5 MINUTE'` after INTERVAL; anything else there is the tree check's to judge."""
    if token.token_type == TokenType.NUMBER:
        return True
    return token.token_type == TokenType.STRING and not _DIGITS.fullmatch(token.text)
