"""Whether an answer has the columns its statement selects, numbers where numbers go. Pure.

A 200 answer that lost its columns (`{"meta": [], "data": []}`) must not read as "no data",
nor one with text in a measure crash the tick: either is the source failing, and is said so.
A correct answer with no rows still lists its columns, typed, in `meta`, so it passes.
"""

from __future__ import annotations

from alertd.model import Query, Rows
from alertd.sources.ae_rows import excerpt, is_number_type

# Column names come from the answer: a broken one may list thousands.
NAMES_CHARS = 120


def shape_problem(rows: Rows, query: Query) -> str | None:
    """What is wrong with `rows` as the answer to `query`, briefly, or None."""
    types = {column.name: column.type for column in rows.columns}
    missing = [name for name in (*query.labels, *query.measures) if name not in types]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        listed = ", ".join(repr(name) for name in missing)
        found = excerpt(", ".join(repr(name) for name in types), NAMES_CHARS) or "none"
        return f"lacks {noun} {listed} that the statement selects (it has {found})"
    # Cells of a number type were converted to numbers, or the answer refused, by ae_rows.
    for name in query.measures:
        if not is_number_type(types[name]):
            shown = excerpt(types[name], NAMES_CHARS)
            return f"has measure column {name!r} typed {shown!r}, not a number type"
    return None
