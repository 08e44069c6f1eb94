"""The statement limit is in UTF-8 bytes, the unit of the request body AE limits."""

import datetime as dt

import pytest

from alertd.query.plan import MAX_SQL_BYTES, PlanError, plan
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.ruleset import Rule, RuleSet
from tests.query.emulated import AT, shipped_rules

DATASET = "pitchey_error_tracking"
MESSAGE = "接続エラー"  # 5 characters, 15 UTF-8 bytes


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return shipped_rules()


def count_rule(shipped: RuleSet, value: str, where: str | None = None) -> Rule:
    return adhoc_rule(
        value,
        shipped.datasets[DATASET],
        by=("source",),
        where=where,
        window=dt.timedelta(minutes=5),
    )


def test_a_batch_of_multibyte_filters_is_split_by_its_utf8_size(shipped: RuleSet) -> None:
    rules = [count_rule(shipped, f'count(message == "{i} {MESSAGE * 40}")') for i in range(20)]
    planned = plan(rules, shipped.datasets, AT)
    statements = [q.query.sql for q in planned.queries]
    # Counted in characters the batch would fit one statement; in bytes it does not.
    assert sum(len(s) for s in statements) < MAX_SQL_BYTES
    assert len(statements) > 1
    for statement in statements:
        body = len(statement.encode("utf-8"))
        assert body <= MAX_SQL_BYTES, f"{len(statement)} characters but a {body}-byte body"
    assert len({m for q in planned.queries for m in q.measures}) == 21  # 20 counts + rows


def test_a_multibyte_filter_too_large_in_bytes_is_refused(shipped: RuleSet) -> None:
    message = MESSAGE * 800  # 4,000 characters, 12,000 UTF-8 bytes
    rule = count_rule(shipped, "count()", where=f'message == "{message}"')
    with pytest.raises(PlanError, match="bytes of SQL; AE accepts about 9000: shorten"):
        plan([rule], shipped.datasets, AT)
