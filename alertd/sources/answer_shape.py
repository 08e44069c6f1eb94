"""Check that an answer has the columns its statement selects, numbers where numbers go. Pure.

A 200 answer that lost its columns (`{"meta": [], "data": []}`) must not read as "no data",
nor one with text in a measure crash the tick: either is a source failing, and is said so.
A correct answer with no rows still lists its columns, typed, in `meta`, so it passes.
"""

from __future__ import annotations

from alertd.errors import SourceError
from alertd.model import Query, Rows
from alertd.sources.ae_rows import is_number_type


def check_shape(rows: Rows, query: Query) -> None:
    """Raise a retryable `SourceError` saying briefly what is wrong with `rows`, if anything."""
    problem = _problem(rows, query)
    if problem is not None:
        raise SourceError(f"AE answer {problem}", retryable=True, status=200)


def _problem(rows: Rows, query: Query) -> str | None:
    types = {column.name: column.type for column in rows.columns}
    missing = [name for name in (*query.labels, *query.measures) if name not in types]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        listed = ", ".join(repr(name) for name in missing)
        found = ", ".join(repr(name) for name in types) or "none"
        return f"lacks {noun} {listed} that the statement selects (it has {found})"
    # Cells of a number type were converted to numbers, or the answer refused, by ae_rows.
    for name in query.measures:
        if not is_number_type(types[name]):
            return f"has measure column {name!r} typed {types[name]!r}, not a number type"
    return None
