"""Dataset schemas: the names a rule may use for AE's positional columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alertd.rules.ast import FieldKind, FieldRef

MAX_BLOBS = 20
MAX_DOUBLES = 20


@dataclass(frozen=True)
class Dataset:
    """One AE dataset: its table name and its named fields."""

    name: str
    fields: Mapping[str, FieldRef]

    def field(self, name: str) -> FieldRef | None:
        return self.fields.get(name)


def build_dataset(
    name: str,
    *,
    index: str | None,
    blobs: list[str],
    doubles: list[str],
    numeric_blobs: list[str],
) -> Dataset:
    """Map declared names to columns: blobs to blob1.., doubles to double1.., index to index1.

    The index usually repeats a blob (the design document writes `table` in both); then the
    name means the blob, which every point carries, and index1 needs no name of its own.
    """
    fields: dict[str, FieldRef] = {}
    numeric = set(numeric_blobs)
    for position, blob in enumerate(blobs, start=1):
        kind = FieldKind.NUMBER if blob in numeric else FieldKind.STRING
        fields[blob] = FieldRef(blob, f"blob{position}", kind, numeric_blob=blob in numeric)
    for position, double in enumerate(doubles, start=1):
        fields[double] = FieldRef(double, f"double{position}", FieldKind.NUMBER)
    if index is not None and index not in fields:
        fields[index] = FieldRef(index, "index1", FieldKind.STRING)
    return Dataset(name, fields)
