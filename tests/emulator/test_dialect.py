import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.emulator.dialect import DOCUMENTED_FUNCTIONS, DialectError, analyse, check_sql

# One call of every function the reference's §3 documents, keyed by its lower-case name.
CALLS = {
    "count": "count()",
    "sum": "sum(double1)",
    "avg": "avg(double1)",
    "min": "min(double1)",
    "max": "max(double1)",
    "quantileexactweighted": "quantileExactWeighted(0.95)(double1, _sample_interval)",
    "quantileweighted": "quantileWeighted(0.95, double1, _sample_interval)",
    "argmax": "argMax(blob1, double1)",
    "argmin": "argMin(blob1, double1)",
    "first_value": "first_value(blob1)",
    "last_value": "last_value(blob1)",
    "topk": "topK(5)(blob1)",
    "topkweighted": "topKWeighted(5)(blob1, _sample_interval)",
    "countif": "countIf(double1 > 1)",
    "sumif": "sumIf(double1, double1 > 1)",
    "avgif": "avgIf(double1, double1 > 1)",
    "if": "if(double1 > 1, 1, 0)",
    "now": "now()",
    "today": "today()",
    "todatetime": "toDateTime('2026-10-01 12:00:00')",
    "tounixtimestamp": "toUnixTimestamp(timestamp)",
    "formatdatetime": "formatDateTime(timestamp, '%Y-%m-%d')",
    "tostartofinterval": "toStartOfInterval(timestamp, INTERVAL '5' MINUTE)",
    "tostartofyear": "toStartOfYear(timestamp)",
    "tostartofmonth": "toStartOfMonth(timestamp)",
    "tostartofweek": "toStartOfWeek(timestamp)",
    "tostartofday": "toStartOfDay(timestamp)",
    "tostartofhour": "toStartOfHour(timestamp)",
    "tostartoffifteenminutes": "toStartOfFifteenMinutes(timestamp)",
    "tostartoftenminutes": "toStartOfTenMinutes(timestamp)",
    "tostartoffiveminutes": "toStartOfFiveMinutes(timestamp)",
    "tostartofminute": "toStartOfMinute(timestamp)",
    "toyear": "toYear(timestamp)",
    "tomonth": "toMonth(timestamp)",
    "todayofmonth": "toDayOfMonth(timestamp)",
    "todayofweek": "toDayOfWeek(timestamp)",
    "tohour": "toHour(timestamp)",
    "tominute": "toMinute(timestamp)",
    "tosecond": "toSecond(timestamp)",
    "toyyyymm": "toYYYYMM(timestamp)",
    "extract": "extract(MINUTE FROM timestamp)",
    "intdiv": "intDiv(toUInt32(timestamp), 60)",
    "log": "log(double1)",
    "ln": "ln(double1)",
    "pow": "pow(double1, 2)",
    "round": "round(double1, 2)",
    "floor": "floor(double1)",
    "ceil": "ceil(double1)",
    "length": "length(blob1)",
    "empty": "empty(blob1)",
    "isempty": "isEmpty(blob1)",
    "lower": "lower(blob1)",
    "upper": "upper(blob1)",
    "lowerutf8": "lowerUTF8(blob1)",
    "upperutf8": "upperUTF8(blob1)",
    "tolower": "toLower(blob1)",
    "toupper": "toUpper(blob1)",
    "startswith": "startsWith(blob1, 'a')",
    "endswith": "endsWith(blob1, 'a')",
    "position": "position('a' IN blob1)",
    "substring": "substring(blob1, 1, 3)",
    "format": "format('{}-{}', blob1, blob2)",
    "touint8": "toUInt8(double1)",
    "touint32": "toUInt32(double1)",
    "bitand": "bitAnd(toUInt32(double1), 1)",
    "bitor": "bitOr(toUInt32(double1), 1)",
    "bitxor": "bitXor(toUInt32(double1), 1)",
    "bitnot": "bitNot(toUInt8(double1))",
    "bitcount": "bitCount(toUInt32(double1))",
    "bithammingdistance": "bitHammingDistance(toUInt32(double1), 3)",
    "bitrotateleft": "bitRotateLeft(toUInt8(double1), 1)",
    "bitrotateright": "bitRotateRight(toUInt8(double1), 1)",
    "bitshiftleft": "bitShiftLeft(toUInt32(double1), 1)",
    "bitshiftright": "bitShiftRight(toUInt32(double1), 1)",
    "bittest": "bitTest(toUInt32(double1), 0)",
    "bin": "bin(toUInt8(double1))",
    "hex": "hex(blob1)",
}

# The example queries of the reference's §9.
REFERENCE_QUERIES = [
    """SELECT blob2 AS route,
       quantileExactWeighted(0.95)(double1, _sample_interval) AS p95_ms,
       sum(_sample_interval) AS est_requests, count() AS sampled_rows
    FROM my_dataset WHERE timestamp > NOW() - INTERVAL '5' MINUTE
    GROUP BY route ORDER BY p95_ms DESC LIMIT 200 FORMAT JSON""",
    """SELECT blob1 AS service, sum(_sample_interval) AS total,
       sum(_sample_interval * if(double2 >= 500, 1, 0)) AS errors,
       sum(_sample_interval * if(double2 >= 500, 1, 0)) / sum(_sample_interval) AS error_rate,
       count() AS sampled_rows
    FROM my_dataset WHERE timestamp > NOW() - INTERVAL '5' MINUTE
    GROUP BY service HAVING total >= 100 FORMAT JSON""",
    """SELECT blob2 AS route,
       sum(_sample_interval * if(blob3 = 'HIT', 1, 0)) / sum(_sample_interval) AS hit_ratio,
       sum(_sample_interval * double3 * if(blob3 = 'HIT', 1, 0))
         / sum(_sample_interval * double3) AS byte_hit_ratio,
       sum(_sample_interval) AS requests
    FROM my_dataset
    WHERE timestamp > NOW() - INTERVAL '15' MINUTE
      AND blob3 IN ('HIT', 'MISS', 'EXPIRED', 'BYPASS')
    GROUP BY route FORMAT JSON""",
    """SELECT toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS minute,
       sum(_sample_interval) AS requests,
       sum(_sample_interval * double1) / sum(_sample_interval) AS avg_ms,
       quantileExactWeighted(0.99)(double1, _sample_interval) AS p99_ms
    FROM my_dataset WHERE timestamp >= NOW() - INTERVAL '1' HOUR
    GROUP BY minute ORDER BY minute ASC FORMAT JSON""",
    """SELECT index1 AS tenant, sum(_sample_interval) AS events,
       max(_sample_interval) AS max_sample_interval, count() AS sampled_rows
    FROM my_dataset
    WHERE timestamp >= toDateTime('2026-10-01 12:00:00')
      AND timestamp <  toDateTime('2026-10-01 12:05:00')
    GROUP BY tenant ORDER BY events DESC LIMIT 100 FORMAT JSON""",
    """SELECT blob2 AS route,
       sum(_sample_interval * double1) / sum(_sample_interval) AS avg_ms,
       count() AS sampled_rows
    FROM my_dataset WHERE timestamp > NOW() - INTERVAL '5' MINUTE
    GROUP BY route HAVING sampled_rows >= 30 FORMAT JSON""",
]


def test_the_examples_cover_exactly_the_documented_functions() -> None:
    assert set(CALLS) == DOCUMENTED_FUNCTIONS


@pytest.mark.parametrize("name", sorted(DOCUMENTED_FUNCTIONS - {"avgif"}))
def test_every_documented_function_is_accepted(name: str) -> None:
    assert check_sql(f"SELECT {CALLS[name]} AS v FROM my_dataset") is None


@pytest.mark.parametrize("name", sorted(DOCUMENTED_FUNCTIONS - {"avgif"}))
def test_function_names_are_case_insensitive(name: str) -> None:
    call = CALLS[name]
    shouted = call[: call.index("(")].upper() + call[call.index("(") :]
    assert check_sql(f"SELECT {shouted} AS v FROM my_dataset") is None


@pytest.mark.parametrize("sql", REFERENCE_QUERIES)
def test_the_reference_examples_are_accepted(sql: str) -> None:
    assert check_sql(sql) is None


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT a FROM t JOIN u ON t.a = u.a", "Input was invalid: JOINs are not supported"),
        ("SELECT a FROM t, u", "Input was invalid: JOINs are not supported"),
        ("SELECT a FROM t UNION ALL SELECT a FROM u", "Input was invalid: UNION is not supported"),
        ("SELECT a FROM t INTERSECT SELECT a FROM u", "INTERSECT is not supported"),
        ("SELECT a FROM t EXCEPT SELECT a FROM u", "EXCEPT is not supported"),
        (
            "SELECT CASE WHEN double1 > 1 THEN 1 ELSE 0 END AS v FROM t",
            "Input was invalid: unsupported expression type: CASE",
        ),
        ("SELECT COUNT(*) AS n FROM t", "COUNT(*) is not supported"),
        ("SELECT count(*) AS n FROM t", "COUNT(*) is not supported"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH clauses are not supported"),
        ("WITH 1 AS one SELECT one FROM t", "WITH clauses are not supported"),
        ("SELECT row_number() OVER (ORDER BY a) AS r FROM t", "window functions"),
        ("SELECT sum(double1) OVER () AS r FROM t", "window functions"),
        ("SELECT a FROM t AS x", "table aliases are not supported"),
        ("SELECT a FROM t x", "table aliases are not supported"),
        ("SELECT a FROM (SELECT blob1 AS a FROM t) AS s", "table aliases are not supported"),
        (
            "SELECT multiIf(a, 1, 2) AS v FROM t",
            "Input was invalid: unknown function call: MULTIIF",
        ),
        ("SELECT uniq(blob1) AS v FROM t", "unknown function call: UNIQ"),
        ("SELECT quantile(0.5)(double1) AS v FROM t", "unknown function call: QUANTILE"),
        ("SELECT quantiles(0.5, 0.9)(double1) AS v FROM t", "unknown function call: QUANTILES"),
        ("SELECT ifNull(blob1, 'x') AS v FROM t", "unknown function call: IFNULL"),
        ("SELECT coalesce(blob1, 'x') AS v FROM t", "unknown function call: COALESCE"),
        ("SELECT nullif(blob1, 'x') AS v FROM t", "unknown function call: NULLIF"),
        ("SELECT splitByChar(',', blob1) AS v FROM t", "unknown function call"),
        ("SELECT lcase(blob1) AS v FROM t", "unknown function call: LCASE"),
        ("SELECT CAST(double1 AS UInt32) AS v FROM t", "unknown function call: CAST"),
        ("SELECT double1::UInt32 AS v FROM t", "unknown function call: CAST"),
        (
            "SELECT quantileExactWeightedIf(0.5)(double1, _sample_interval, double1 > 1) FROM t",
            "unknown function call: QUANTILEEXACTWEIGHTEDIF",
        ),
        ("SELECT a FROM numbers(10)", "unknown function call: NUMBERS"),
        ("SELECT a FROM system.tables", "unknown table: system.tables"),
        ("SELECT NULL AS v", "unsupported expression type: NULL"),
        ("SELECT a FROM t WHERE a IN (SELECT a FROM t)", "subqueries are only supported in FROM"),
        ("SELECT (SELECT 1) AS v", "subqueries are only supported in FROM"),
        ("SELECT DISTINCT a FROM t", "SELECT DISTINCT is not supported"),
        ("SELECT a FROM t SETTINGS max_threads = 1", "unsupported clause: settings"),
        ("SELECT a FROM t PREWHERE a = 1", "unsupported clause: prewhere"),
        ("SELECT a FROM t SAMPLE 0.1", "unsupported clause: sample"),
        ("SELECT a FROM t LIMIT 1 BY a", "LIMIT BY is not supported"),
        ("SELECT a FROM t GROUP BY a WITH TOTALS", "GROUP BY modifiers are not supported"),
        ("SELECT a FROM t GROUP BY a WITH ROLLUP", "GROUP BY modifiers are not supported"),
        ("SELECT a FROM t FORMAT Pretty", "Input was invalid: unsupported format: Pretty"),
        ("SELECT count() AS n, n * 2 AS twice FROM t", "cannot use alias n inside another"),
        ("SELECT 1 AS one; SELECT 2 AS two", "only one statement per request"),
        (
            "INSERT INTO t VALUES (1)",
            "only SELECT, SHOW TABLES, SHOW TIMEZONES and SHOW TIMEZONE are supported",
        ),
        (
            "DROP TABLE t",
            "only SELECT, SHOW TABLES, SHOW TIMEZONES and SHOW TIMEZONE are supported",
        ),
        (
            "SHOW DATABASES",
            "only SELECT, SHOW TABLES, SHOW TIMEZONES and SHOW TIMEZONE are supported",
        ),
        ("SELECT now() - INTERVAL '1' WEEK AS a", "unsupported interval unit: WEEK"),
        ("SELECT now() - INTERVAL 1 WEEK AS a", "Input was invalid: unsupported interval"),
        ("SELECT now() - INTERVAL '1' QUARTER AS a", "unsupported interval unit: QUARTER"),
        ("SELECT now() - INTERVAL '5' MINUTES AS a", "unsupported interval unit: MINUTES"),
        ("SELECT now() - INTERVAL 5 MINUTE AS a", "the number of an INTERVAL must be quoted"),
        ("SELECT now() - INTERVAL '5 MINUTE' AS a", "the number of an INTERVAL must be quoted"),
        ("SELECT now() - INTERVAL '-5' MINUTE AS a", "the number of an INTERVAL must be quoted"),
        ("SELECT now() - INTERVAL (1 + 1) DAY AS a", "the number of an INTERVAL must be quoted"),
        (
            "SELECT toStartOfInterval(timestamp, INTERVAL '1' WEEK) AS w FROM t",
            "unsupported interval unit: WEEK",
        ),
        ("SELECT a FROM t GROUP BY GROUPING SETS ((a), (b))", "GROUPING SETS is not supported"),
        ("SELECT a FROM t GROUP BY ROLLUP(a)", "ROLLUP is not supported"),
        ("SELECT a FROM t GROUP BY CUBE(a)", "CUBE is not supported"),
        ("SELECT a FROM t WHERE a GLOBAL IN (1, 2)", "GLOBAL IN is not supported"),
        ("SELECT a FROM t WHERE a GLOBAL NOT IN (1, 2)", "GLOBAL IN is not supported"),
        ("SELECT a FROM t WHERE a LIKE 'x!%' ESCAPE '!'", "unsupported operator: ESCAPE"),
        ("SELECT a FROM t WHERE a NOT ILIKE 'x' ESCAPE '!'", "unsupported operator: ESCAPE"),
        ("SELECT blob1 || 'x' AS a FROM t", "unsupported operator: ||"),
        ("SELECT double1 DIV 2 AS a FROM t", "unsupported operator: DIV"),
        ("SELECT a FROM t WHERE double1 == 1", "unsupported operator: =="),
        ("SELECT double1 > 1 ? 1 : 0 AS a FROM t", "unsupported operator: ?"),
        ("SELECT a FROM t WHERE blob1 SIMILAR TO 'x'", "unsupported operator: SIMILAR TO"),
        ("SELECT a FROM t WHERE a IS DISTINCT FROM b", "unsupported operator: IS DISTINCT FROM"),
        ("SELECT a FROM t WHERE a <=> b", "unsupported operator: <=>"),
        ("SELECT a FROM t WHERE (a, b) IN ((1, 2))", "unsupported expression type: tuple"),
        ("SHOW TIMEZONE FORMAT Pretty", "Input was invalid: unsupported format: Pretty"),
        (
            "SHOW TIME ZONES",
            "only SELECT, SHOW TABLES, SHOW TIMEZONES and SHOW TIMEZONE are supported",
        ),
        ("SELECT (a FROM t", "Input was invalid: syntax error at position 10"),
        ("SELECT 'unterminated", "Input was invalid: syntax error"),
    ],
)
def test_statements_outside_the_dialect_are_refused_as_ae_refuses_them(
    sql: str, message: str
) -> None:
    refusal = check_sql(sql)
    assert refusal is not None
    assert message in refusal


def test_avg_if_is_refused_with_the_runtime_error_ae_gives() -> None:
    refusal = check_sql("SELECT avgIf(double1, blob1 = 'GET') AS v FROM t FORMAT JSON")
    assert refusal == (
        "the 2nd and 3rd arguments to IF() function must have the same type but instead "
        "had Double and Null: if(blob1 = 'GET', double1, NULL)"
    )


def test_a_statement_longer_than_ten_thousand_characters_is_refused() -> None:
    padding = " " * (10_000 - len("SELECT 1 AS one"))
    assert check_sql("SELECT 1 AS one" + padding) is None
    assert check_sql("SELECT 1 AS one" + padding + " ") == (
        "Input was invalid: query is longer than 10000 characters"
    )


def test_alias_reuse_is_allowed_in_group_by_having_and_order_by() -> None:
    sql = (
        "SELECT blob1 AS route, count() AS n FROM t "
        "GROUP BY route HAVING n > 1 ORDER BY n DESC LIMIT 10 OFFSET 5"
    )
    assert check_sql(sql) is None


def test_an_alias_named_like_a_column_is_not_mistaken_for_reuse() -> None:
    sql = "SELECT toStartOfMinute(timestamp) AS timestamp, count() AS n FROM t GROUP BY timestamp"
    assert check_sql(sql) is None


@pytest.mark.parametrize(
    ("sql", "kind", "fmt"),
    [
        ("SELECT 1 AS one", "select", None),
        ("SELECT 1 AS one FORMAT JSON", "select", "JSON"),
        ("SELECT 1 AS one format jsoneachrow", "select", "JSONEachRow"),
        ("SELECT 1 AS one FORMAT TabSeparated;", "select", "TabSeparated"),
        ("SHOW TABLES", "show_tables", None),
        ("  show tables FORMAT JSON ; ", "show_tables", "JSON"),
        ("SHOW TIMEZONES", "show_timezones", None),
        ("show timezones format JSONEachRow", "show_timezones", "JSONEachRow"),
        ("SHOW TIMEZONE", "show_timezone", None),
        ("SHOW TIMEZONE FORMAT JSON;", "show_timezone", "JSON"),
    ],
)
def test_analyse_reports_the_statement_kind_and_format(
    sql: str, kind: str, fmt: str | None
) -> None:
    statement = analyse(sql)
    assert (statement.kind, statement.format) == (kind, fmt)


@pytest.mark.parametrize("unit", ["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "minute"])
def test_every_documented_interval_unit_is_accepted_with_a_quoted_number(unit: str) -> None:
    assert (
        check_sql(f"SELECT count() AS n FROM t WHERE timestamp > NOW() - INTERVAL '42' {unit}")
        is None
    )
    assert (
        check_sql(f"SELECT toStartOfInterval(timestamp, INTERVAL '1' {unit}) AS b FROM t") is None
    )


@pytest.mark.parametrize(
    "condition",
    [
        "double1 + 1 - 2 * 3 / 4 % 5 > 0",
        "double1 = 1 OR double1 < 1 OR double1 > 1 OR double1 <= 1 OR double1 >= 1",
        "double1 <> 1 AND double1 != 2",
        "blob1 IN ('a', 'b') AND blob2 NOT IN ('c')",
        "double1 BETWEEN 1 AND 2 AND double2 NOT BETWEEN 1 AND 2",
        "blob1 LIKE 'a%' AND blob2 NOT LIKE '_b' AND blob3 ILIKE 'c' AND blob4 NOT ILIKE 'd'",
        "NOT (double1 > 1) AND -double1 < 0 AND true AND NOT false",
        "blob1 = 'interval' AND blob2 = 'a == b ? c : d || e'",
    ],
)
def test_every_documented_operator_is_accepted(condition: str) -> None:
    assert check_sql(f"SELECT count() AS n FROM t WHERE {condition}") is None


def test_show_tables_with_an_unknown_format_is_refused() -> None:
    with pytest.raises(DialectError, match="unsupported format: Pretty"):
        analyse("SHOW TABLES FORMAT Pretty")


def test_documented_names_are_translated_to_their_clickhouse_equivalents() -> None:
    statement = analyse(
        "SELECT TOSTARTOFWEEK(timestamp) AS w, Length(blob1) AS l, toLower(blob1) AS lo, "
        "isEmpty(blob2) AS e, QUANTILEEXACTWEIGHTED(0.5)(double1, _sample_interval) AS q "
        "FROM t GROUP BY w, l, lo, e LIMIT ALL"
    )
    assert statement.clickhouse_sql == (
        "SELECT toMonday(timestamp) AS w, lengthUTF8(blob1) AS l, lowerUTF8(blob1) AS lo, "
        "empty(blob2) AS e, quantileExactWeighted(0.5)(double1, _sample_interval) AS q "
        "FROM t GROUP BY w, l, lo, e "
    )


def test_string_literals_and_quoted_names_are_never_rewritten() -> None:
    sql = "SELECT `length`(blob1) AS v FROM t WHERE blob1 = 'length(x) LIMIT ALL'"
    assert analyse(sql).clickhouse_sql == sql


@given(st.text(max_size=200))
def test_checking_any_text_answers_and_never_raises(text: str) -> None:
    refusal = check_sql(text)
    assert refusal is None or refusal.strip()


# Keywords the SQL grammar reads as operators or aliases before a parenthesis, not names.
OPERATOR_KEYWORDS = frozenset({"as", "and", "or", "not"})


@given(
    st.from_regex(r"[a-z][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
        lambda name: name.lower() not in DOCUMENTED_FUNCTIONS | OPERATOR_KEYWORDS
    )
)
def test_every_undocumented_function_name_is_refused(name: str) -> None:
    refusal = check_sql(f"SELECT {name}(double1) AS v FROM t")
    assert refusal is not None
