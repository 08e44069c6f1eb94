"""Check that an answer has the columns its statement selects, numbers where numbers go. Pure.

A 200 answer that lost its columns (`{"meta": [], "data": []}`) must not read as "no data",
nor one with text in a measure crash the tick: either is a source failing, and is said so.
A correct answer with no rows still lists its columns in `meta`, so it passes.
"""

from __future__ import annotations

from alertd.errors import SourceError
from alertd.model import Query, Rows


def check_shape(rows: Rows, query: Query) -> None:
    """Raise a retryable `SourceError` saying briefly what is wrong with `rows`, if anything."""
    problem = _problem(rows, query)
    if problem is not None:
        raise SourceError(f"AE answer {problem}", retryable=True, status=200)


def _problem(rows: Rows, query: Query) -> str | None:
    present = {column.name for column in rows.columns}
    missing = [name for name in (*query.labels, *query.measures) if name not in present]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        listed = ", ".join(repr(name) for name in missing)
        found = ", ".join(repr(c.name) for c in rows.columns) or "none"
        return f"lacks {noun} {listed} that the statement selects (it has {found})"
    for index, row in enumerate(rows.data):
        for name in query.measures:
            value = row[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
                return f"has {shown} in row {index} of measure column {name!r}, not a number"
    return None
