"""Alertmanager's alert fingerprint, so tools reading our webhooks key alerts as it does.

It is prometheus/common's `LabelSet.Fingerprint`: 64-bit FNV-1a over each label name and
value, in name order, each followed by the byte 0xff (never part of UTF-8 text), printed as
16 hex digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_OFFSET = 14695981039346656037
_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def am_fingerprint(labels: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The label set's fingerprint as Alertmanager prints it (`%016x`)."""
    pairs = labels.items() if isinstance(labels, Mapping) else labels
    value = _OFFSET
    for name, label_value in sorted(pairs):
        for part in (name, label_value):
            for byte in part.encode("utf-8"):
                value = ((value ^ byte) * _PRIME) & _MASK
            value = ((value ^ _SEPARATOR) * _PRIME) & _MASK
    return f"{value:016x}"
