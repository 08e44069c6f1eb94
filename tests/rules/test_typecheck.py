import pytest

from alertd.errors import ExpressionError
from alertd.rules.ast import (
    Aggregate,
    BoolOp,
    Compare,
    FieldKind,
    FieldRef,
    InList,
    Literal,
    Not,
    Number,
    QueryRef,
    ValueArith,
)
from alertd.rules.schema import Dataset
from alertd.rules.typecheck import parse_condition, parse_value

DURATION = FieldRef("duration", "double1", FieldKind.NUMBER)
TABLE = FieldRef("table", "blob2", FieldKind.STRING)
STATUS = FieldRef("status", "blob3", FieldKind.STRING)


def test_percentile_with_condition_resolves_fields_to_columns(db: Dataset) -> None:
    value = parse_value('p95(duration, table == "users")', db)
    assert value == Aggregate(
        "quantile", arg=DURATION, cond=Compare("==", TABLE, Literal("users")), level=0.95
    )


def test_quantile_takes_its_level_first(db: Dataset) -> None:
    assert parse_value("quantile(0.999, duration)", db) == Aggregate(
        "quantile", arg=DURATION, level=0.999
    )


def test_arithmetic_over_aggregates_keeps_precedence(db: Dataset) -> None:
    value = parse_value('count(status == "error") / count() * 100', db)
    errors = Aggregate("count", cond=Compare("==", STATUS, Literal("error")))
    assert value == ValueArith("*", ValueArith("/", errors, Aggregate("count")), Number(100.0))


def test_ratio_takes_condition_and_population(perf: Dataset) -> None:
    value = parse_value('ratio(cacheStatus == "HIT", cacheStatus in ["HIT", "MISS"])', perf)
    assert isinstance(value, Aggregate)
    assert value.func == "ratio"
    assert isinstance(value.of, InList)
    assert value.of.values == (Literal("HIT"), Literal("MISS"))


def test_numeric_blob_compares_with_numbers(perf: Dataset) -> None:
    condition = parse_condition("statusCode >= 500", perf)
    assert condition == Compare(
        ">=", FieldRef("statusCode", "blob3", FieldKind.NUMBER, numeric_blob=True), Literal(500)
    )


def test_boolean_operators_nest_as_written(db: Dataset) -> None:
    condition = parse_condition('not (status == "ok") and table not in ["a"] or duration > -5', db)
    assert isinstance(condition, BoolOp)
    assert condition.op == "or"
    left = condition.operands[0]
    assert isinstance(left, BoolOp)
    assert left.op == "and"
    assert isinstance(left.operands[0], Not)
    assert left.operands[1] == InList(TABLE, (Literal("a"),), negated=True)
    assert condition.operands[1] == Compare(">", DURATION, Literal(-5))


def test_single_quoted_strings_and_escapes(db: Dataset) -> None:
    condition = parse_condition("status == 'it\\'s' or status == \"a\\\\b\"", db)
    assert isinstance(condition, BoolOp)
    assert condition.operands[0] == Compare("==", STATUS, Literal("it's"))
    assert condition.operands[1] == Compare("==", STATUS, Literal("a\\b"))


def test_named_queries_are_references(db: Dataset) -> None:
    value = parse_value("errors / requests", None, ["errors", "requests"])
    assert value == ValueArith("/", QueryRef("errors"), QueryRef("requests"))


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("p95(table)", "p95() needs a number, but 'table' is a string field", 4),
        ("sum(status)", "sum() needs a number", 4),
        ("duration", "must be inside an aggregate", 0),
        ("count(duration)", "expected a condition", 6),
        ("median(duration)", "unknown function median()", 0),
        ("p95(duration) > 3", "a value must be a number", 0),
        ("quantile(1.5, duration)", "not in (0, 1]", 9),
        ("p95(duration, status = 'x')", "compare with ==", 21),
        ("count(colour == 'red')", "unknown field 'colour'", 6),
        ("count(status == 1)", "cannot compare 'status' (string) with 1 (number)", 6),
        ("count(status in [1, 2])", "every item of this list must be a string literal", 17),
        ("p95(duration", "ends too early", 12),
        ("count() +", "ends too early", 9),
        ("count(count())", "aggregate; it cannot appear inside a row condition", 6),
        ("p95(duration, table == 'a', 1)", "takes 1 to 2 arguments, got 3", 0),
    ],
)
def test_bad_values_name_the_problem_and_its_place(
    db: Dataset, text: str, message: str, offset: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_value(text, db)
    assert message in caught.value.message
    assert caught.value.offset == offset


def test_condition_must_be_boolean(db: Dataset) -> None:
    with pytest.raises(ExpressionError, match="must be true or false"):
        parse_condition("duration + 1", db)


def test_aggregate_needs_a_dataset_when_queries_are_named() -> None:
    with pytest.raises(ExpressionError, match="aggregates go in `queries`"):
        parse_value("count() / requests", None, ["requests"])
