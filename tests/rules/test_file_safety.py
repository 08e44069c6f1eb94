"""Rule and notification files that could freeze or crash a loader get a one-line error."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

from alertd.commands.silence import requested
from alertd.notify.build import notify_config
from alertd.notify.config import load_notify
from alertd.notify.silences import SilenceError
from alertd.query.check import check_rules
from alertd.rules.durations import parse_duration

RULES = Path(__file__).parents[2] / "rules"
# 414 bytes that expand to a billion strings ("billion laughs").
LAUGHS = "group: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
    f"*a{i - 1}, *a{i - 1}, *a{i - 1}]\n"
    for i in range(1, 9)
)


def rule_dir(tmp_path: Path, name: str, text: str) -> Path:
    shutil.copy(RULES / "datasets.yaml", tmp_path / "datasets.yaml")
    (tmp_path / name).write_text(text)
    return tmp_path


def messages(tmp_path: Path) -> list[str]:
    return [str(e) for e in check_rules([tmp_path]).errors]


def shipped(name: str, old: str, new: str) -> str:
    text = (RULES / name).read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    found = messages(rule_dir(tmp_path, "laughs.yaml", LAUGHS))
    assert time.monotonic() - started < 2
    assert found == [f"{tmp_path}/laughs.yaml:1:8: aliases and anchors are not supported"]


def test_the_notification_file_refuses_aliases(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(shipped("notify.yaml", "route:", "defaults: &d {}\nroute:"))
    config, errors = load_notify(path)
    assert config is None
    assert [str(e) for e in errors] == [f"{path}:21:11: aliases and anchors are not supported"]


def test_the_shipped_files_use_no_aliases() -> None:
    assert check_rules([RULES]).errors == []


def test_a_control_character_is_placed_at_its_line_and_column(tmp_path: Path) -> None:
    text = shipped("api.yaml", "group: api", "group: api\x00")
    assert messages(rule_dir(tmp_path, "api.yaml", text)) == [
        f"{tmp_path}/api.yaml:1:11: invalid YAML: character U+0000 is not allowed"
    ]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    text = shipped("api.yaml", "labels: {team: platform}", "labels: " + "[" * 5000)
    (found,) = messages(rule_dir(tmp_path, "api.yaml", text))
    assert found.startswith(f"{tmp_path}/api.yaml:3:")
    assert found.endswith("nested deeper than 64 levels")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("window: 5m", "window:", "rules[0].window: expected a duration such as 30s, 5m or 1h"),
        ("interval: 30s", "interval: 3000000d", "interval: must be at most 1d"),
        ("interval: 30s", "interval: 2d", "interval: must be at most 1d"),
        ("for: 1m", "for: 91d", "rules[0].for: must be at most 90d"),
        ("for: 1m", "keep_firing_for: 100d", "rules[0].keep_firing_for: must be at most 90d"),
        ("window: 5m", "window: 91d", "rules[0].window: must be at most 90d"),
        (
            "window: 5m",
            "window: 99999999999999999999999d",
            "rules[0].window: must be at most 365d",
        ),
        ("window: 5m", "window: .inf", "rules[0].window: expected a duration such as 30s"),
        ("window: 5m", "window: [5m]", "rules[0].window: expected a duration such as 30s"),
    ],
)
def test_every_duration_is_bounded_and_named(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    (found,) = messages(rule_dir(tmp_path, "api.yaml", shipped("api.yaml", old, new)))
    place, message = found.split(": ", 1)
    assert place.startswith(f"{tmp_path}/api.yaml:")
    assert message.startswith(expected)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("group_wait: 30s", "group_wait: 2d", "route.group_wait: must be at most 1d"),
        ("group_interval: 5m", "group_interval: 2d", "route.group_interval: must be at most 1d"),
        (
            "repeat_interval: 4h",
            "repeat_interval: 91d",
            "route.repeat_interval: must be at most 90d",
        ),
        (
            "repeat_interval: 4h",
            "repeat_interval: 3000000d",
            "route.repeat_interval: must be at most 90d",
        ),
    ],
)
def test_notification_durations_are_bounded_and_named(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(shipped("notify.yaml", old, new))
    config, errors = load_notify(path)
    assert config is None
    (found,) = [str(e) for e in errors]
    assert found.startswith(f"{path}:")
    assert expected in found


def test_a_duration_too_long_for_a_timer_is_a_value_error() -> None:
    for text in ("3000000d", "9" * 5000 + "s", 10.0**300):
        with pytest.raises(ValueError, match="must be at most 365d"):
            parse_duration(text)


def test_a_silence_far_too_long_is_refused_not_overflowed() -> None:
    now = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(SilenceError, match=r"--duration: must be at most 365d"):
        requested(
            ["alertname=X"], duration="3000000d", until=None, start=None, author="me",
            comment="why", now=now,
        )  # fmt: skip


def test_bytes_that_are_not_utf8_are_placed_in_rule_and_notification_files(
    tmp_path: Path,
) -> None:
    folder = rule_dir(tmp_path, "notify.yaml", (RULES / "notify.yaml").read_text())
    for name in ("api.yaml", "notify.yaml"):
        (folder / name).write_bytes(b"# \xc3\n" + (RULES / name).read_bytes())
    notify_config([folder])  # leaves a file it cannot read to the rules loader's report
    assert load_notify(folder / "notify.yaml")[0] is None
    assert sorted(str(e) for e in check_rules([folder]).errors) == [
        f"{folder}/api.yaml:1:3: not UTF-8 text (byte 2)",
        f"{folder}/notify.yaml:1:3: not UTF-8 text (byte 2)",
    ]
