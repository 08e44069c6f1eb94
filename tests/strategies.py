"""Hypothesis strategies for rule-language expressions, shared by parser and SQL tests."""

from hypothesis import strategies as st

from alertd.rules.ast import (
    Aggregate,
    BoolOp,
    Compare,
    InList,
    Literal,
    Not,
    Number,
    RowArith,
    RowExpr,
    ValueArith,
    ValueExpr,
)
from alertd.rules.schema import build_dataset

DATASET = build_dataset(
    "d",
    index=None,
    blobs=["name", "kind", "code"],
    doubles=["duration", "size"],
    numeric_blobs=["code"],
)
NUMBER_FIELDS = [DATASET.fields[n] for n in ("duration", "size", "code")]
STRING_FIELDS = [DATASET.fields[n] for n in ("name", "kind")]

texts = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
numbers = st.one_of(st.integers(min_value=0, max_value=10**9), finite.map(abs))
number_literals = numbers.map(Literal)

number_exprs: st.SearchStrategy[RowExpr] = st.recursive(
    st.one_of(st.sampled_from(NUMBER_FIELDS), number_literals),
    lambda inner: st.builds(RowArith, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
    max_leaves=4,
)
string_literals = texts.map(Literal)
compare_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
atoms: st.SearchStrategy[RowExpr] = st.one_of(
    st.builds(Compare, compare_ops, st.sampled_from(STRING_FIELDS), string_literals),
    st.builds(Compare, compare_ops, number_exprs, number_exprs),
    st.builds(
        InList,
        st.sampled_from(STRING_FIELDS),
        st.lists(string_literals, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
)
conditions: st.SearchStrategy[RowExpr] = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=3).map(tuple),
        ),
    ),
    max_leaves=5,
)
optional_conditions = st.one_of(st.none(), conditions)
aggregates: st.SearchStrategy[ValueExpr] = st.one_of(
    st.builds(Aggregate, st.just("count"), cond=optional_conditions),
    st.builds(
        Aggregate,
        st.sampled_from(["sum", "avg", "min", "max"]),
        arg=number_exprs,
        cond=optional_conditions,
    ),
    st.builds(
        Aggregate,
        st.just("quantile"),
        arg=number_exprs,
        cond=optional_conditions,
        level=st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.25, 0.999]),
    ),
    st.builds(Aggregate, st.just("ratio"), cond=conditions, of=optional_conditions),
)
values: st.SearchStrategy[ValueExpr] = st.recursive(
    st.one_of(aggregates, numbers.map(lambda n: Number(float(n)))),
    lambda inner: st.builds(ValueArith, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
    max_leaves=4,
)
