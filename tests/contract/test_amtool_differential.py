"""alertd's reading of Alertmanager configurations against Alertmanager's own `amtool`
(Debian's prometheus-alertmanager): on the shipped file and on generated ones, both accept
or both refuse the file, name the same receivers for generated label sets, and match the
same strings with the same regexes."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alertd.commands.routes import receivers_reached
from alertd.notify.config import NotifyConfig, load_notify
from alertd.notify.matchers import Matcher, MatcherError

SHIPPED = Path(__file__).parents[2] / "deploy" / "alertmanager" / "notify.yaml"
AMTOOL_TIMEOUT_SECONDS = 30
SEED = 20251202
CONFIGS = 16
LABEL_SETS = 8
LABELS = ("a", "b")
VALUES = ("1", "x", "xy", "")
REGEXES = ("1|2", "x.*", "[[:digit:]]+", "", ".+", r"\d", "x?y?", "[^1]")
RECEIVERS = ("r0", "r1", "r2", "r3")


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("amtool")
    assert binary is not None, "amtool is not installed (Debian: prometheus-alertmanager)"
    return subprocess.run(
        [binary, *args],
        capture_output=True,
        text=True,
        timeout=AMTOOL_TIMEOUT_SECONDS,
        check=False,
    )


def amtool_accepts(path: Path) -> bool:
    return amtool("check-config", str(path)).returncode == 0


def amtool_receivers(path: Path, labels: dict[str, str]) -> list[str]:
    words = [f"{name}={value}" for name, value in labels.items()]
    done = amtool("config", "routes", "test", f"--config.file={path}", *words)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(",")


def alertd_load(path: Path) -> tuple[NotifyConfig | None, list[str]]:
    config, errors = load_notify(path, {})
    return config, [str(e) for e in errors]


# --- generated configurations -------------------------------------------------------------


def condition(rng: random.Random) -> dict[str, Any]:
    """One route's matchers, in one of Alertmanager's three forms."""
    name = rng.choice(LABELS)
    form = rng.choice(("match", "match_re", "matchers"))
    if form == "match":
        return {"match": {name: rng.choice(VALUES[:-1])}}
    if form == "match_re":
        return {"match_re": {name: rng.choice(REGEXES)}}
    op = rng.choice(("=", "!=", "=~", "!~"))
    value = rng.choice(REGEXES if "~" in op else VALUES)
    return {"matchers": [f'{name}{op}"{value}"']}


def sub_routes(rng: random.Random, depth: int) -> list[dict[str, Any]]:
    routes = []
    for _ in range(rng.randint(0, 3 if depth == 0 else 2)):
        node: dict[str, Any] = condition(rng) if rng.random() < 0.85 else {}
        if rng.random() < 0.7:
            node["receiver"] = rng.choice(RECEIVERS)
        if rng.random() < 0.4:
            node["continue"] = True
        if depth < 2 and rng.random() < 0.5:
            node["routes"] = sub_routes(rng, depth + 1)
        routes.append(node)
    return routes


def generated(rng: random.Random) -> dict[str, Any]:
    return {
        "receivers": [{"name": name} for name in RECEIVERS],
        "route": {"receiver": "r0", "group_by": ["alertname"], "routes": sub_routes(rng, 0)},
    }


def label_set(rng: random.Random) -> dict[str, str]:
    picked = {name: rng.choice(VALUES) for name in LABELS}
    return {name: value for name, value in picked.items() if value}


def write(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


# A valid base and ways to break it, each refused by Alertmanager.
BASE: dict[str, Any] = {
    "receivers": [{"name": "r0"}, {"name": "r1"}],
    "route": {"receiver": "r0", "routes": [{"receiver": "r1", "match": {"a": "1"}}]},
}
VARIANTS: dict[str, tuple[bool, dict[str, Any]]] = {
    "base": (True, {}),
    "posix class": (
        True,
        {"route.routes": [{"receiver": "r1", "match_re": {"a": "[[:alpha:]]+"}}]},
    ),
    "unicode class": (True, {"route.routes": [{"receiver": "r1", "matchers": [r'a=~"\pL+"']}]}),
    "inhibit match": (
        True,
        {"inhibit_rules": [{"source_match": {"s": "c"}, "target_match_re": {"s": "w.*"}}]},
    ),
    "unknown receiver": (False, {"route.routes": [{"receiver": "nobody"}]}),
    "unclosed group": (False, {"route.routes": [{"receiver": "r1", "match_re": {"a": "(x"}}]}),
    "lookahead": (False, {"route.routes": [{"receiver": "r1", "matchers": ['a=~"(?=x)"']}]}),
    "backreference": (False, {"route.routes": [{"receiver": "r1", "match_re": {"a": r"(x)\1"}}]}),
    "bad label name": (False, {"route.routes": [{"receiver": "r1", "match": {"a-b": "1"}}]}),
    "matchers on root": (False, {"route.match": {"a": "1"}}),
    "unknown route key": (False, {"route.routes": [{"receiver": "r1", "matchs": {"a": "1"}}]}),
    "receiver twice": (False, {"receivers": [{"name": "r0"}, {"name": "r1"}, {"name": "r1"}]}),
    "root without receiver": (False, {"route.receiver": None}),
    "wildcard and labels": (False, {"route.group_by": ["...", "a"]}),
    "zero repeat": (False, {"route.repeat_interval": "0s"}),
    "unknown interval": (
        False,
        {"route.routes": [{"receiver": "r1", "mute_time_intervals": ["nights"]}]},
    ),
    "webhook without url": (False, {"receivers": [{"name": "r0", "webhook_configs": [{}]}]}),
    "webhook": (
        True,
        {
            "receivers": [
                {"name": "r0", "webhook_configs": [{"url": "http://127.0.0.1:1/"}]},
                {"name": "r1"},
            ]
        },
    ),
}


def variant(changes: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = document
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return document


# --- the comparisons -------------------------------------------------------------------------


def test_the_shipped_alertmanager_file_is_valid_for_both(tmp_path: Path) -> None:
    assert amtool_accepts(SHIPPED)
    assert alertd_load(SHIPPED)[1] == []


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_alertd_and_amtool_agree_on_validity(tmp_path: Path, name: str) -> None:
    valid, changes = VARIANTS[name]
    path = write(tmp_path, "variant", variant(changes))
    _, errors = alertd_load(path)
    assert amtool_accepts(path) is valid, path.read_text()
    assert (errors == []) is valid, errors


def test_generated_trees_route_generated_labels_to_the_same_receivers(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    for index in range(CONFIGS):
        path = write(tmp_path, f"generated-{index}", generated(rng))
        config, errors = alertd_load(path)
        assert errors == []
        assert config is not None
        assert amtool_accepts(path)
        for _ in range(LABEL_SETS):
            labels = label_set(rng)
            expected = amtool_receivers(path, labels)
            assert receivers_reached(config, labels) == expected, (path.read_text(), labels)


# Regexes whose meaning differs between Python's `re` and RE2 among them, and strings that
# tell them apart; amtool names a route's receiver for each regex a string matches.
DIFFERENTIAL_REGEXES = (
    "[[:alpha:]]+",
    r"\pL+",
    r"\p{Greek}+",
    r"\d+",
    r"\w+",
    "a|ab",
    "(?i)DB",
    "[a-c]*",
    r"\x41",
    ".",
    "",
    "db.*",
    r"a{2,3}",
    "[[:^digit:]]+",
)
STRINGS = (
    "abc",
    "a]",
    "é",
    "αβ",
    "123",
    "٣",
    "ab",
    "db",
    "DB",
    "aa",
    "aaaa",
    "A",
    "x",
    "dbx",
    "a_1",
)


def test_regexes_match_the_same_strings_under_both(tmp_path: Path) -> None:
    routes = [
        {"receiver": f"re{i}", "match_re": {"v": regex}, "continue": True}
        for i, regex in enumerate(DIFFERENTIAL_REGEXES)
    ]
    document = {
        "receivers": [{"name": "none"}]
        + [{"name": f"re{i}"} for i in range(len(DIFFERENTIAL_REGEXES))],
        "route": {"receiver": "none", "routes": routes},
    }
    path = write(tmp_path, "regexes", document)
    assert amtool_accepts(path)
    for text in STRINGS:
        by_amtool = set(amtool_receivers(path, {"v": text})) - {"none"}
        ours = set()
        for i, regex in enumerate(DIFFERENTIAL_REGEXES):
            try:
                if Matcher("v", "=~", regex).matches({"v": text}):
                    ours.add(f"re{i}")
            except MatcherError:
                pytest.fail(f"alertd refuses {regex!r}, which Alertmanager takes")
        assert ours == by_amtool, text


ATOMS = ("a", "b", ".", "[[:alpha:]]", r"\d", r"\pL", "[a-c]", "(a|bc)", "é", r"\w", "[^a]")
QUANTIFIERS = ("", "", "*", "+", "?", "{1,2}")
ALPHABET = ("a", "b", "c", "1", "é", "α", "_", "A")


def generated_regex(rng: random.Random) -> str:
    def branch() -> str:
        return "".join(
            rng.choice(ATOMS) + rng.choice(QUANTIFIERS) for _ in range(rng.randint(1, 3))
        )

    return "|".join(branch() for _ in range(rng.randint(1, 2)))


def test_generated_regexes_match_the_same_generated_strings_under_both(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    regexes = sorted({generated_regex(rng) for _ in range(24)})
    strings = sorted({"".join(rng.choices(ALPHABET, k=rng.randint(0, 4))) for _ in range(24)})
    document = {
        "receivers": [{"name": "none"}] + [{"name": f"re{i}"} for i in range(len(regexes))],
        "route": {
            "receiver": "none",
            "routes": [
                {"receiver": f"re{i}", "match_re": {"v": regex}, "continue": True}
                for i, regex in enumerate(regexes)
            ],
        },
    }
    path = write(tmp_path, "generated-regexes", document)
    assert amtool_accepts(path)
    matchers = [Matcher("v", "=~", regex) for regex in regexes]
    for text in strings:
        # An empty value is an absent label, for Alertmanager as for alertd.
        by_amtool = set(amtool_receivers(path, {"v": text} if text else {})) - {"none"}
        ours = {f"re{i}" for i, m in enumerate(matchers) if m.matches({"v": text})}
        assert ours == by_amtool, (text, [regexes[int(r[2:])] for r in ours ^ by_amtool])
