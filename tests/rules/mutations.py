"""Mutations of the shipped rule files, for fuzzing the loaders with realistic mistakes."""

from __future__ import annotations

import copy
import random
from typing import Any

import yaml

# Values of every kind a hand-edited file may hold where another kind was expected.
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    " ",
    0,
    -1,
    1.5,
    True,
    10**30,
    -(10**30),
    float("inf"),
    float("nan"),
    "3000000d",
    "99999999999999999999d",
    "1e400",
    "0s",
    "-5m",
    "5",
    "é✓\u2028\x00",
    "\x1b[31mred",
    "{{ labels.x }}",
    "{{ value | round }",
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    "{{ 'x' * 3000000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "> ",
    "> 1e999",
    "< nan",
    "p95(",
    "count(",
    "ratio(status == )",
    "a" * 500,
    [],
    [None],
    [1, "x", []],
    {},
    {"x": None},
    {"": 1},
    {1: 2},
    [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]],
)


# Small texts that once froze the daemon: templates that loop or allocate without end.
COSTLY_TEMPLATES = (
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{{ 'x' * 3000000000 }}",
    "{{ 'x' | center(3000000000) }}",
    "{{ '%3000000000d' % 1 }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
)
# A few hundred bytes of aliases that expand to a billion strings.
ALIAS_BOMB = "bomb: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


def mutate(text: str, rnd: random.Random) -> str:
    """A random realistic corruption of `text`: of its parsed data, or of its characters."""
    if rnd.random() < 0.05:
        return ALIAS_BOMB + text if rnd.random() < 0.5 else text + ALIAS_BOMB
    if rnd.random() < 0.1:
        return _costly_template(text, rnd)
    if rnd.random() < 0.6:
        data = yaml.safe_load(text)
        for _ in range(rnd.randint(1, 3)):
            data = _mutate_data(data, rnd)
        try:
            out = yaml.safe_dump(data, allow_unicode=rnd.random() < 0.5, sort_keys=False)
        except (yaml.YAMLError, RecursionError):
            out = text
        if rnd.random() < 0.2:
            out = _duplicate_key(out, rnd)
        return out
    return _mutate_text(text, rnd)


def _costly_template(text: str, rnd: random.Random) -> str:
    """`text` with one of its strings (an annotation, if it has any) replaced by a costly
    template."""
    data = yaml.safe_load(text)
    strings = [p for p in _paths(data) if p and isinstance(_get(data, p), str)]
    annotations = [p for p in strings if "annotations" in p]
    if not strings:
        return text
    path = rnd.choice(annotations or strings)
    _get(data, path[:-1])[path[-1]] = rnd.choice(COSTLY_TEMPLATES)
    return yaml.safe_dump(data, sort_keys=False)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if len(path) > 20:
        return found  # inside a value a mutation nested deeply; no need to go further
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _odd(rnd: random.Random) -> Any:
    if rnd.random() < 0.1:
        depth = rnd.randint(10, 400)
        value: Any = rnd.choice([None, 1, "x"])
        for _ in range(depth):
            value = [value] if rnd.random() < 0.5 else {"k": value}
        return value
    if rnd.random() < 0.1:
        return "".join(chr(rnd.randint(0, 0x2FFF)) for _ in range(rnd.randint(0, 20)))
    return copy.deepcopy(rnd.choice(ODD_VALUES))  # shared values must not be mutated later


def _mutate_data(data: Any, rnd: random.Random) -> Any:
    paths = _paths(data)
    path = rnd.choice(paths)
    if not path:
        return _odd(rnd) if rnd.random() < 0.05 else data
    parent, last = _get(data, path[:-1]), path[-1]
    action = rnd.random()
    if action < 0.3:
        del parent[last]
    elif action < 0.8:
        parent[last] = _odd(rnd)
    elif action < 0.9 and isinstance(parent, dict):
        value = parent.pop(last)
        key = _odd(rnd) if rnd.random() < 0.3 else f"{last}_x"
        parent[key if isinstance(key, str | int | float | bool | None) else str(key)] = value
    else:
        # Swap with another value of the file: a right value in the wrong place.
        other = _get(data, rnd.choice(paths))
        parent[last] = copy.deepcopy(other)
    return data


def _duplicate_key(text: str, rnd: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if ":" in line]
    if not candidates:
        return text
    i = rnd.choice(candidates)
    return "".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])


def _mutate_text(text: str, rnd: random.Random) -> str:
    action = rnd.random()
    if action < 0.3:
        return text[: rnd.randint(0, len(text))]
    if action < 0.8:
        chars = list(text)
        for _ in range(rnd.randint(1, 5)):
            at = rnd.randint(0, len(chars))
            chars.insert(at, rnd.choice(":-[]{}&*!|>'\"#%@`\t\n ,?0a\x00\x85\ufeff"))
        return "".join(chars)
    lines = text.splitlines(keepends=True)
    i = rnd.randint(0, max(0, len(lines) - 1))
    return (
        "".join([*lines[:i], *lines[i + 1 :]]) if rnd.random() < 0.5 else _duplicate_key(text, rnd)
    )
