"""YAML with positions: the data, plus where each key and value was written."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from alertd.errors import Location, RuleError
from alertd.rules.scalar_positions import advance, source_index

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """Where a node was written: 1-based line and column, and its [index, end) in the text.

    `value` is a string scalar's parsed text, so offsets into it can be traced back.
    """

    line: int
    column: int
    index: int = 0
    end: int = 0
    style: str | None = None
    value: str | None = None


@dataclass
class Document:
    """A parsed YAML file: `data` as plain Python, positions by path."""

    file: str
    data: Any
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    text: str = ""

    def location(self, path: Path, *, key: bool = False, offset: int | None = None) -> Location:
        """Where `path` was written: its key, or its value (plus `offset` into a scalar).

        An offset is traced through quotes, escapes, folds and block indentation to the
        character written in the file; when it cannot be, the scalar's start is given.
        """
        table = self.keys if key else self.values
        probe = path
        while probe and probe not in table and probe not in self.values:
            probe = probe[:-1]
        mark = table.get(probe) or self.values.get(probe)
        if mark is None:
            return Location(self.file, 1, 1)
        index = None
        if offset is not None and probe == path:
            index = source_index(self.text, mark, offset)
        if index is None:
            return Location(self.file, mark.line, mark.column)
        return Location(self.file, *advance(self.text, mark, index))


def dotted(path: Path) -> str:
    """A path as rule authors read it: `rules[2].thresholds.critical`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(file)"


# Rule files nest a few levels; far deeper nesting is a mistake or an attack on the parser.
MAX_DEPTH = 64


class _PlainLoader(yaml.SafeLoader):
    """A SafeLoader without aliases (a few bytes of them expand to gigabytes) or deep nesting."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "aliases and anchors are not supported")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def read(path: pathlib.Path) -> Document:
    """Read and parse one file; unreadable bytes and YAML problems become RuleErrors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuleError(Location(str(path), 1, 1), f"cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        location = Location(str(path), *_line_column(before, len(before)))
        raise RuleError(location, f"not UTF-8 text (byte {exc.start})") from None
    return load(str(path), text)


def load(file: str, text: str) -> Document:
    """Parse one YAML document; syntax errors, aliases and duplicate keys become RuleErrors."""
    loader: _PlainLoader | None = None
    try:
        loader = _PlainLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise RuleError(_place(file, exc.mark), exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = _place(file, mark) if mark else Location(file, 1, 1)
        raise RuleError(location, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:
        location = Location(file, *_line_column(text, exc.position))
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        message = f"invalid YAML: character U+{char:04X} is not allowed"
        raise RuleError(location, message) from None
    except yaml.YAMLError as exc:
        raise RuleError(Location(file, 1, 1), f"invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    document = Document(file, data, text=text)
    if node is not None:
        _walk(document, node, ())
    return document


def _place(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _mark(node: yaml.Node) -> Mark:
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    return Mark(
        node.start_mark.line + 1,
        node.start_mark.column + 1,
        node.start_mark.index,
        node.end_mark.index,
        getattr(node, "style", None),
        value if isinstance(value, str) else None,
    )


def _walk(document: Document, node: yaml.Node, path: Path) -> None:
    document.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                location = _place(document.file, key_node.start_mark)
                raise RuleError(location, f"duplicate key {key!r}")
            seen.add(key)
            document.keys[(*path, key)] = _mark(key_node)
            _walk(document, value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(document, item, (*path, index))


def pydantic_errors(exc: ValidationError, document: Document, prefix: Path = ()) -> list[RuleError]:
    """One RuleError per pydantic error, placed at the key or value it concerns."""
    found: list[RuleError] = []
    for error in exc.errors():
        path = (*prefix, *(p for p in error["loc"] if isinstance(p, str | int)))
        where = dotted(path)
        kind = error["type"]
        if kind == "extra_forbidden":
            location = document.location(path, key=True)
            message = f"{where}: unknown key {path[-1]!r}"
        elif kind == "missing":
            location = document.location(path[:-1])
            message = f"{where}: required key {path[-1]!r} is missing"
        else:
            location = document.location(path)
            message = f"{where}: {_reason(error)}"
        found.append(RuleError(location, message))
    return found


def _reason(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
