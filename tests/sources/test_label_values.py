"""Label values that differ in any character stay different series."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from alertd.query.plan import plan
from alertd.query.results import read
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.loader import load
from alertd.sources import ae_rows

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def test_values_differing_only_by_a_nul_are_two_series() -> None:
    ruleset = load([Path(__file__).parents[2] / "rules"]).ruleset
    rule = adhoc_rule(
        "count()",
        ruleset.datasets["pitchey_database_metrics"],
        by=("table",),
        where=None,
        window=dt.timedelta(minutes=5),
    )
    planned = plan([rule], ruleset.datasets, AT)
    (query,) = planned.queries
    (label,) = query.labels
    aliases = list(query.measures.values())
    meta = [{"name": label, "type": "String"}, *({"name": a, "type": "UInt64"} for a in aliases)]
    data = [
        {label: "users", **dict.fromkeys(aliases, "3")},
        {label: "users\u0000", **dict.fromkeys(aliases, "5")},
        {label: "users\u0000\u0000", **dict.fromkeys(aliases, "7")},
    ]
    rows = ae_rows.parse(json.dumps({"meta": meta, "data": data, "rows": 3}))
    series = read(planned, {query: rows})[rule.name].series
    assert {labels[0][1]: value.value for labels, value in series.items()} == {
        "users": 3.0,
        "users\u0000": 5.0,
        "users\u0000\u0000": 7.0,
    }


def test_a_string_keeps_its_nul_characters_and_a_fixed_string_drops_its_padding() -> None:
    body = {
        "meta": [{"name": "s", "type": "String"}, {"name": "f", "type": "FixedString(4)"}],
        "data": [{"s": "a\u0000", "f": "ab\u0000\u0000"}],
        "rows": 1,
    }
    assert ae_rows.parse(json.dumps(body)).data == ({"s": "a\u0000", "f": "ab"},)
