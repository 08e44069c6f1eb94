"""AE's SQL dialect: which statements it accepts, and the ClickHouse text that answers them.

AE runs on ClickHouse but accepts a much smaller language (reference §3, §8). Checking the
documented subset here makes a statement that would fail against the real API fail locally
too, with the same kind of 422 message.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ParseError, TokenError

from alertd.emulator.operators import refuse_operators

MAX_SQL_LENGTH = 10_000

COLUMNS: tuple[str, ...] = (
    "dataset",
    "timestamp",
    "index1",
    *(f"blob{i}" for i in range(1, 21)),
    *(f"double{i}" for i in range(1, 21)),
    "_sample_interval",
)

FORMATS = {"json": "JSON", "jsoneachrow": "JSONEachRow", "tabseparated": "TabSeparated"}

# The functions of the reference's §3, as the AE docs spell them.
_AE_FUNCTIONS = (
    # aggregate
    "count", "sum", "avg", "min", "max", "quantileExactWeighted", "quantileWeighted",
    "argMax", "argMin", "first_value", "last_value", "topK", "topKWeighted", "countIf",
    "sumIf", "avgIf",
    # conditional
    "if",
    # date and time
    "now", "today", "toDateTime", "toUnixTimestamp", "formatDateTime", "toStartOfInterval",
    "toStartOfYear", "toStartOfMonth", "toStartOfWeek", "toStartOfDay", "toStartOfHour",
    "toStartOfFifteenMinutes", "toStartOfTenMinutes", "toStartOfFiveMinutes",
    "toStartOfMinute", "toYear", "toMonth", "toDayOfMonth", "toDayOfWeek", "toHour",
    "toMinute", "toSecond", "toYYYYMM", "extract",
    # mathematical
    "intDiv", "log", "ln", "pow", "round", "floor", "ceil",
    # string
    "length", "empty", "isEmpty", "lower", "upper", "lowerUTF8", "upperUTF8", "toLower",
    "toUpper", "startsWith", "endsWith", "position", "substring", "format",
    # type conversion
    "toUInt8", "toUInt32",
    # bit
    "bitAnd", "bitOr", "bitXor", "bitNot", "bitCount", "bitHammingDistance",
    "bitRotateLeft", "bitRotateRight", "bitShiftLeft", "bitShiftRight", "bitTest",
    # encoding
    "bin", "hex",
)  # fmt: skip

DOCUMENTED_FUNCTIONS: frozenset[str] = frozenset(name.lower() for name in _AE_FUNCTIONS)

# AE function names are case-insensitive; most ClickHouse names, and sqlglot's recognition
# of parametric aggregates such as quantileExactWeighted(q)(x, w), are not.
_AE_SPELLING = {name.lower(): name for name in _AE_FUNCTIONS}
# Documented functions ClickHouse knows under another name or with other behaviour.
_CLICKHOUSE_EQUIVALENTS = {
    "tostartofweek": "toMonday",  # AE weeks start on Monday; ClickHouse's default is Sunday
    "length": "lengthUTF8",  # AE counts characters, ClickHouse's length() counts bytes
    "isempty": "empty",
    "tolower": "lowerUTF8",
    "toupper": "upperUTF8",
    # quantileWeighted(q, x, w) is a SQL function the storage defines.
}

# The SHOW statements of the reference's §3, each with an optional FORMAT clause.
_SHOW = re.compile(
    r"\s*SHOW\s+(TABLES|TIMEZONES|TIMEZONE)(?:\s+FORMAT\s+(\w+))?\s*;?\s*", re.IGNORECASE
)
StatementKind = Literal["select", "show_tables", "show_timezones", "show_timezone"]
# What answers them. AE documents no column names; ours mirror SHOW TABLES' `dataset`.
_SHOW_STATEMENTS: dict[str, tuple[StatementKind, str]] = {
    "tables": ("show_tables", ""),  # the storage lists its own datasets
    "timezones": (
        "show_timezones",
        "SELECT time_zone AS timezone FROM system.time_zones ORDER BY timezone",
    ),
    # "SHOW TIMEZONE responds with the current default timezone ... always be Etc/UTC."
    "timezone": ("show_timezone", "SELECT 'Etc/UTC' AS timezone"),
}
_ONLY_STATEMENTS = "only SELECT, SHOW TABLES, SHOW TIMEZONES and SHOW TIMEZONE are supported"
_SELECT_CLAUSES = frozenset(
    {"expressions", "from_", "where", "group", "having", "order", "limit", "offset", "format"}
)
_CLAUSE_MESSAGES = {
    "with_": "WITH clauses are not supported",
    "joins": "JOINs are not supported",
    "windows": "window functions are not supported",
    "distinct": "SELECT DISTINCT is not supported",
}
_SET_OPERATIONS: dict[type[exp.Expression], str] = {
    exp.Union: "UNION",
    exp.Intersect: "INTERSECT",
    exp.Except: "EXCEPT",
}
_UNSUPPORTED_NODES: dict[type[exp.Expression], str] = {
    exp.Join: "JOINs are not supported",
    exp.With: "WITH clauses are not supported",
    exp.CTE: "WITH clauses are not supported",
    exp.Window: "window functions are not supported",
    exp.Case: "unsupported expression type: CASE",
    exp.Null: "unsupported expression type: NULL",
    exp.Placeholder: "query parameters are not supported",
    exp.Lambda: "unsupported expression type: lambda",
    exp.Bracket: "unsupported expression type: subscript",
    exp.Tuple: "unsupported expression type: tuple",
    exp.GroupingSets: "GROUPING SETS is not supported",
    exp.Rollup: "ROLLUP is not supported",
    exp.Cube: "CUBE is not supported",
}
# Function nodes that carry the name as written in their own `this` argument.
_NAMED_BY_ARGUMENT = (
    exp.Anonymous,
    exp.AnonymousAggFunc,
    exp.ParameterizedAgg,
    exp.CombinedAggFunc,
    exp.CombinedParameterizedAgg,
)
# Typed function nodes for which sqlglot records no name as written.
_UNNAMED_FUNCTIONS: dict[type[exp.Func], str] = {
    exp.If: "if",
    exp.ArgMax: "argMax",
    exp.ArgMin: "argMin",
    exp.Extract: "extract",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.StrPosition: "position",
    exp.Substring: "substring",
}
# What AE answers for avgIf since it rewrites it to if(cond, x, NULL) (reference §8 G3).
_AVG_IF_MESSAGE = (
    "the 2nd and 3rd arguments to IF() function must have the same type "
    "but instead had Double and Null: if({cond}, {value}, NULL)"
)


class DialectError(Exception):
    """The statement leaves AE's dialect; the message is the body AE answers with a 422."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Statement:
    """A statement AE accepts: what it asks for, and the ClickHouse text that answers it.

    `format` is the canonical name of the FORMAT clause, None when the statement has none.
    """

    kind: StatementKind
    format: str | None
    clickhouse_sql: str


def check_sql(sql: str) -> str | None:
    """None when AE would accept `sql`; otherwise the message AE would answer it with."""
    try:
        analyse(sql)
    except DialectError as error:
        return error.message
    return None


# An absolute time bound as clients write it. Statements that differ only in these are
# checked once: a digit for a digit inside a string literal changes neither the tokens nor
# the tree the checks judge, nor the translation.
_TIME_LITERAL = re.compile(r"(?<=toDateTime\(')\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?='\))")
_STAND_IN = "1970-01-01 00:00:00"
_STAND_IN_TEXT = f"'{_STAND_IN}'"


def analyse(sql: str) -> Statement:
    """Check `sql` against AE's dialect and translate it; raises DialectError if AE would not."""
    times = _TIME_LITERAL.findall(sql)
    if not times or _STAND_IN in sql:
        return _analyse(sql)
    accepted = _accepted(_TIME_LITERAL.sub(_STAND_IN, sql))
    if accepted is None:
        return _analyse(sql)  # refused: the message is the statement's own
    # The translation keeps string literals as written: each stand-in takes its time back.
    pieces = accepted.clickhouse_sql.split(_STAND_IN_TEXT)
    if len(pieces) != len(times) + 1:
        return _analyse(sql)
    clickhouse = "".join(
        piece + (f"'{time}'" if index < len(times) else "")
        for index, (piece, time) in enumerate(itertools.zip_longest(pieces, times))
    )
    return dataclasses.replace(accepted, clickhouse_sql=clickhouse)


@functools.lru_cache(maxsize=512)
def _accepted(shape: str) -> Statement | None:
    try:
        return _analyse(shape)
    except DialectError:
        return None


def _analyse(sql: str) -> Statement:
    if len(sql) > MAX_SQL_LENGTH:
        raise _invalid(f"query is longer than {MAX_SQL_LENGTH} characters")
    show = _SHOW.fullmatch(sql)
    if show:
        kind, clickhouse = _SHOW_STATEMENTS[show.group(1).lower()]
        return Statement(kind, _format(show.group(2)), clickhouse)
    try:
        spelled = _respell(sql, _AE_SPELLING)  # changes case only, so positions hold
    except TokenError as error:
        raise _invalid("syntax error") from error
    select = _parse_single_select(spelled)
    _check_structure(select)
    refusal = refuse_operators(select, spelled)
    if refusal:
        raise _invalid(refusal)
    _check_functions(select)
    _check_alias_references(select)
    written = select.args.get("format")
    clickhouse = _respell(spelled, _CLICKHOUSE_EQUIVALENTS, drop_limit_all=True)
    return Statement("select", _format(written.name if written else None), clickhouse)


def _invalid(reason: str) -> DialectError:
    return DialectError(f"Input was invalid: {reason}")


def _format(name: str | None) -> str | None:
    if name is None:
        return None
    canonical = FORMATS.get(name.lower())
    if canonical is None:
        raise _invalid(f"unsupported format: {name}")
    return canonical


def _parse_single_select(sql: str) -> exp.Select:
    try:
        statements = [s for s in sqlglot.parse(sql, read="clickhouse") if s is not None]
    except ParseError as error:
        raise _invalid(f"syntax error at position {_position(sql, error)}") from error
    except (TokenError, RecursionError) as error:
        raise _invalid("syntax error") from error
    if not statements:
        raise _invalid("the statement is empty")
    if len(statements) > 1:
        raise _invalid("only one statement per request is supported")
    (statement,) = statements
    for kind, word in _SET_OPERATIONS.items():
        if isinstance(statement, kind):
            raise _invalid(f"{word} is not supported")
    if not isinstance(statement, exp.Select):
        raise _invalid(_ONLY_STATEMENTS)
    return statement


def _position(sql: str, error: ParseError) -> int:
    """The 0-based offset of the token sqlglot stopped at (it reports where the token ends)."""
    first = error.errors[0] if error.errors else {}
    line, col = int(first.get("line") or 1), int(first.get("col") or 0)
    token = str(first.get("highlight") or "")
    lines = sql.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + max(col - len(token), 0)


def _check_structure(root: exp.Select) -> None:
    for node in root.walk():
        for kind, word in _SET_OPERATIONS.items():
            if isinstance(node, kind):
                raise _invalid(f"{word} is not supported")
        for kind, reason in _UNSUPPORTED_NODES.items():
            if isinstance(node, kind):
                raise _invalid(reason)
        if isinstance(node, exp.Select):
            _check_select(node, is_root=node is root)
        elif isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, exp.Subquery) and node.alias:
            raise _invalid("table aliases are not supported")
        elif isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
            raise _invalid("COUNT(*) is not supported, use count()")
        elif isinstance(node, exp.Group) and any(
            value for key, value in node.args.items() if key != "expressions"
        ):
            raise _invalid("GROUP BY modifiers are not supported")
        elif isinstance(node, exp.Limit) and node.expressions:
            raise _invalid("LIMIT BY is not supported")
        elif isinstance(node, exp.Ordered) and node.args.get("with_fill"):
            raise _invalid("ORDER BY ... WITH FILL is not supported")


def _check_select(select: exp.Select, *, is_root: bool) -> None:
    for clause, value in select.args.items():
        if value and clause not in _SELECT_CLAUSES:
            reason = _CLAUSE_MESSAGES.get(clause, f"unsupported clause: {clause.strip('_')}")
            raise _invalid(reason)
    if is_root:
        return
    if select.args.get("format"):
        raise _invalid("FORMAT is only allowed at the end of the statement")
    holder = select.parent
    if not (isinstance(holder, exp.Subquery) and isinstance(holder.parent, exp.From)):
        raise _invalid("subqueries are only supported in FROM")


def _check_table(table: exp.Table) -> None:
    if table.alias:
        raise _invalid("table aliases are not supported")
    if table.args.get("db") or table.args.get("catalog"):
        raise _invalid(f"unknown table: {table.sql(dialect='clickhouse')}")
    extra = [key for key, value in table.args.items() if value and key not in ("this", "alias")]
    if extra:
        raise _invalid(f"unsupported clause: {extra[0]}")


def _check_functions(root: exp.Select) -> None:
    for node in root.walk():
        # AND and OR are operators that sqlglot happens to model as functions.
        if not isinstance(node, exp.Func) or isinstance(node, exp.And | exp.Or):
            continue
        name = _function_name(node)
        if name.lower() == "avgif":
            value, cond = [*node.expressions, exp.Null(), exp.Null()][:2]
            raise DialectError(
                _AVG_IF_MESSAGE.format(
                    cond=cond.sql(dialect="clickhouse"), value=value.sql(dialect="clickhouse")
                )
            )
        if name.lower() not in DOCUMENTED_FUNCTIONS:
            raise _invalid(f"unknown function call: {name.upper()}")


def _function_name(node: exp.Func) -> str:
    written = node.meta.get("clickhouse_name")  # sqlglot keeps the spelling for most functions
    if isinstance(written, str):
        return written
    if isinstance(node, _NAMED_BY_ARGUMENT):
        return node.name
    return _UNNAMED_FUNCTIONS.get(type(node), node.sql_name())


def _check_alias_references(root: exp.Select) -> None:
    """AE rejects a SELECT alias used inside another selected expression (reference §8 G5)."""
    for select in root.find_all(exp.Select):
        aliases = {e.alias for e in select.expressions if e.alias} - set(COLUMNS)
        for projection in select.expressions:
            for column in projection.find_all(exp.Column):
                if (
                    not column.table
                    and column.name in aliases
                    and column.name != projection.alias
                    and column.find_ancestor(exp.Select) is select
                ):
                    raise _invalid(
                        f"cannot use alias {column.name} inside another selected expression"
                    )


def _respell(sql: str, names: dict[str, str], *, drop_limit_all: bool = False) -> str:
    """Rename the functions called in `sql` whose lower-case names are keys of `names`.

    With `drop_limit_all`, also drop `LIMIT ALL`, which AE accepts and ClickHouse lacks.
    Works on tokens rather than regenerating the SQL from a tree, so that the statement run
    is the one the client wrote, not sqlglot's rendering of it.
    """
    tokens = sqlglot.tokenize(sql, read="clickhouse")
    pieces: list[str] = []
    done = 0
    for token, following in itertools.pairwise(tokens):
        if (
            drop_limit_all
            and token.token_type == TokenType.LIMIT
            and following.text.upper() == "ALL"
        ):
            pieces.append(sql[done : token.start])
            done = following.end + 1
            continue
        if following.token_type != TokenType.L_PAREN:
            continue
        target = names.get(token.text.lower())
        # Quoted names and string literals differ from their token text; leave them alone.
        if target is None or sql[token.start : token.end + 1] != token.text:
            continue
        pieces.append(sql[done : token.start])
        pieces.append(target)
        done = token.end + 1
    pieces.append(sql[done:])
    return "".join(pieces)
