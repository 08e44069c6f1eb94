"""Mutated copies of the shipped files load or get file:line:col errors, and load quickly."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.errors import RuleError
from alertd.notify.config import load_notify
from alertd.query.check import check_rules
from tests.rules.mutations import mutate

RULES = Path(__file__).parents[2] / "rules"
SHIPPED = {path.name: path.read_text() for path in sorted(RULES.glob("*.yaml"))}
SLOWEST = 5.0  # seconds for one file; the loaders take milliseconds


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz")
    yield path
    shutil.rmtree(path)


def assert_placed(errors: list[RuleError], path: Path) -> None:
    for error in errors:
        assert isinstance(error, RuleError)
        location = error.location
        assert (location.file, location.line >= 1, location.column >= 1) == (
            str(path),
            True,
            True,
        ), str(error)
        assert str(error).startswith(f"{path}:{location.line}:{location.column}: ")
        assert "\n" not in error.message


@settings(
    max_examples=2500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(name=st.sampled_from(sorted(SHIPPED)), rnd=st.randoms(use_true_random=False))
def test_a_mutated_shipped_file_loads_or_gets_placed_errors(
    folder: Path, name: str, rnd: random.Random
) -> None:
    for shipped, text in SHIPPED.items():
        (folder / shipped).write_text(text)
    path = folder / name
    path.write_text(mutate(SHIPPED[name], rnd))
    started = time.monotonic()
    if name == "notify.yaml":
        config, errors = load_notify(path, env={})
        assert (config is None) == bool(errors)
        assert_placed(errors, path)
    else:
        result = check_rules([path])
        # A broken datasets.yaml is reported at its own lines; this file's at this file's.
        mine = [e for e in result.errors if e.location.file == str(path)]
        assert_placed(mine, path)
        assert_placed(
            [e for e in result.errors if e.location.file != str(path)], folder / "datasets.yaml"
        )
    assert time.monotonic() - started < SLOWEST
