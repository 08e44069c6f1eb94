"""Where a character of a YAML scalar's value was written in the file.

An expression error has an offset into the parsed text; to point at the file, the offset
is traced back through quotes, `''`, escapes, line folding and block indentation.
"""

from __future__ import annotations

import re
from typing import Protocol

# A character of a scalar's value and the [start, end) of the scalar's text it came from.
Piece = tuple[str, int, int]

_BREAKS = "\r\n\x85\u2028\u2029"
# One line of a block scalar: where its text starts, the text, where its break is (if any).
_Line = tuple[int, str, int | None]
_LINE = re.compile(r"([^\r\n\x85\u2028\u2029]*)(\r\n|[\r\n\x85\u2028\u2029]|$)")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEADER = re.compile(r"[|>][-+]?([1-9])?")
# A node's marks include its anchor and tag, written before the scalar itself.
_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)*")


class Scalar(Protocol):
    """A scalar as the YAML reader marked it: 1-based line and column, [index, end) in the
    text, its style and its parsed value."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def style(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...


def source_index(text: str, scalar: Scalar, offset: int) -> int | None:
    """The index in `text` of the value's character at `offset`; None if unknown."""
    value = scalar.value
    if value is None or not 0 <= offset <= len(value):
        return None
    start = _scalar_start(text, scalar)
    if not value:
        return start + (1 if scalar.style in ("'", '"') else 0)
    raw = text[start : scalar.end]
    if scalar.style in ("|", ">"):
        pieces = _block_pieces(raw, value, folded=scalar.style == ">")
    else:
        pieces = _flow(raw, scalar.style)
        pieces = pieces if "".join(p[0] for p in pieces) == value else None
    if pieces is None:
        return None
    if offset == len(value):
        return start + pieces[offset - 1][2]
    return start + pieces[offset][1]


def _scalar_start(text: str, scalar: Scalar) -> int:
    """Where the scalar itself starts, past any anchor and tag."""
    found = _PROPERTIES.match(text, scalar.index, scalar.end)
    return found.end() if found else scalar.index


def advance(text: str, scalar: Scalar, index: int) -> tuple[int, int]:
    """Line and column of `index`, counted from the scalar's mark as YAML counts them."""
    line, column = scalar.line, scalar.column
    for position in range(scalar.index, index):
        char = text[position]
        if char in "\n\x85\u2028\u2029" or (
            char == "\r" and text[position + 1 : position + 2] != "\n"
        ):
            line, column = line + 1, 1
        elif char != "\ufeff":
            column += 1
    return line, column


def _flow(raw: str, style: str | None) -> list[Piece]:
    """The pieces of a plain, single- or double-quoted scalar written as `raw`."""
    quoted = style in ("'", '"')
    i, end = (1, len(raw) - 1) if quoted else (0, len(raw))
    pieces: list[Piece] = []
    while i < end:
        char = raw[i]
        if char in " \t" or char in _BREAKS:
            i = _flow_space(raw, i, end, pieces)
        elif style == "'" and raw.startswith("''", i):
            pieces.append(("'", i, i + 2))
            i += 2
        elif style == '"' and char == "\\":
            i = _escape(raw, i, end, pieces)
        else:
            pieces.append((char, i, i + 1))
            i += 1
    return pieces


def _flow_space(raw: str, i: int, end: int, pieces: list[Piece]) -> int:
    """Spaces are kept within a line; across lines one break folds to a space, and each
    further (empty) line to a newline."""
    j = i
    while j < end and raw[j] in " \t":
        j += 1
    if j == end or raw[j] not in _BREAKS:
        pieces.extend((raw[k], k, k + 1) for k in range(i, j))
        return j
    breaks, j = _breaks(raw, j, end)
    if len(breaks) == 1:
        pieces.append((" ", breaks[0], breaks[0] + 1))
    pieces.extend(("\n", b, b + 1) for b in breaks[1:])
    return j


def _breaks(raw: str, i: int, end: int) -> tuple[list[int], int]:
    """The line breaks from `i` on, skipping the whitespace around them."""
    found: list[int] = []
    while i < end and (raw[i] in " \t" or raw[i] in _BREAKS):
        if raw[i] in _BREAKS:
            found.append(i)
        i += 2 if raw.startswith("\r\n", i) else 1
    return found, i


def _escape(raw: str, i: int, end: int, pieces: list[Piece]) -> int:
    code = raw[i + 1] if i + 1 < end else ""
    if code and code in _BREAKS:  # an escaped line break joins the lines with nothing
        breaks, j = _breaks(raw, i + 1, end)
        pieces.extend(("\n", b, b + 1) for b in breaks[1:])
        return j
    if code in _HEX_ESCAPES:
        j = i + 2 + _HEX_ESCAPES[code]
        pieces.append((chr(int(raw[i + 2 : j], 16)), i, j))
        return j
    pieces.append((_ESCAPES.get(code, code), i, i + 2))
    return i + 2


def _block_pieces(raw: str, value: str, *, folded: bool) -> list[Piece] | None:
    """The pieces of a `|` or `>` block scalar written as `raw`; None if they miss `value`."""
    lines = [
        (m.start(1), m.group(1), m.start(2) if m.group(2) else None)
        for m in _LINE.finditer(raw)
        if m.start() < len(raw)
    ]
    header, lines = _HEADER.match(lines[0][1]), lines[1:]
    widest = max((len(text) - len(text.lstrip(" ")) for _, text, _ in lines), default=0)
    # An explicit indentation indicator counts from the parent's indentation, which the
    # scalar's text does not show: try each indentation it allows.
    explicit = header.group(1) if header else None
    indents = (
        range(int(explicit), max(widest, int(explicit)) + 1)
        if explicit
        else [_detected_indent(lines)]
    )
    for indent in indents:
        pieces = _block(lines, indent, folded=folded)
        # Chomping only drops trailing line breaks, so the value is a prefix of the pieces.
        if "".join(p[0] for p in pieces[: len(value)]) == value:
            return pieces
    return None


def _block(lines: list[_Line], indent: int, *, folded: bool) -> list[Piece]:
    """A block scalar's pieces, its content lines read at `indent`, as YAML reads them."""
    pieces: list[Piece] = []
    pending: list[int] = []  # breaks of empty lines not yet placed
    previous: tuple[int, bool] | None = None  # the last content line's break; plain start?
    for start, text, brk in lines:
        kept = min(indent, len(text) - len(text.lstrip(" ")))
        if not text[kept:] and brk is not None:
            pending.append(brk)
            continue
        if not text[kept:] or kept < indent:
            break
        plain = text[indent] not in " \t"
        if previous is not None:
            fold = folded and previous[1] and plain
            if not (fold and pending):
                pieces.append((" " if fold else "\n", previous[0], previous[0] + 1))
        pieces.extend(("\n", b, b + 1) for b in pending)
        pending = []
        pieces.extend(
            (c, start + indent + n, start + indent + n + 1) for n, c in enumerate(text[indent:])
        )
        if brk is None:
            return pieces
        previous = (brk, plain)
    if previous is not None:
        pieces.append(("\n", previous[0], previous[0] + 1))
    return pieces + [("\n", b, b + 1) for b in pending]


def _detected_indent(lines: list[_Line]) -> int:
    """The indentation YAML reads from a block's leading blank lines and first content line."""
    widest = 0
    for _, text, _ in lines:
        spaces = len(text) - len(text.lstrip(" "))
        widest = max(widest, spaces)
        if spaces < len(text):
            break
    return max(widest, 1)
