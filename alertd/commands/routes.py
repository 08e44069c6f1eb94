"""`alertd routes`: the route tree of the notification file, or where an alert with given
labels goes: each route it ends at, the receiver named there and the group key, like
`amtool config routes test`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.notify.am_receivers import receiver_of
from alertd.notify.build import notify_config
from alertd.notify.config import NotifyConfig, load_notify
from alertd.notify.routing import Route, RouteMatch, matching_routes
from alertd.rules.durations import format_duration

INDENT = "  "


def run(
    config_file: Path | None,
    rules_dir: Path,
    labels: Sequence[str],
    tree: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Print the tree (with --tree or no labels) or the routes an alert reaches; 1 when the
    file has errors, 2 when a label is not written LABEL=VALUE."""
    config, errors = load_notify(config_file) if config_file else notify_config([rules_dir])
    for error in errors:
        print(error, file=err)
    if config is None:
        return 1
    parsed = parse_labels(labels)
    if isinstance(parsed, str):
        print(f"alertd routes: {parsed}", file=err)
        return 2
    if tree or not labels:
        print_tree(config, out)
        return 0
    for node in matching_routes(config.route, parsed):
        key = node.settings.group_key(tuple(sorted(parsed.items())))
        print(f"{receiver_of(node.settings.receiver)}\t{key}", file=out)
    return 0


def parse_labels(texts: Sequence[str]) -> dict[str, str] | str:
    """`LABEL=VALUE` words as labels, or why one is not; a value may be double-quoted."""
    labels: dict[str, str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.isidentifier():
            return f"{text!r} is not LABEL=VALUE"
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        labels[name] = value
    return labels


def receivers_reached(config: NotifyConfig, labels: dict[str, str]) -> list[str]:
    """The receivers (as the file names them) an alert with `labels` reaches, in order."""
    return [receiver_of(n.settings.receiver) for n in matching_routes(config.route, labels)]


def print_tree(config: NotifyConfig, out: TextIO) -> None:
    _print_node(config.route, None, 0, out)


def _print_node(node: Route, parent: RouteMatch | None, depth: int, out: TextIO) -> None:
    settings = node.settings
    matchers = "{" + ", ".join(str(m) for m in node.matchers) + "}"
    parts = [matchers, f"receiver: {receiver_of(settings.receiver)}"]
    if not node.delivers:
        parts.append("(cannot send: passes alerts to its sub-routes only)")
    if node.continue_:
        parts.append("continue")
    shown = {
        "group_by": "[" + ", ".join(settings.group_by) + "]",
        "group_wait": format_duration(settings.group_wait),
        "group_interval": format_duration(settings.group_interval),
        "repeat_interval": format_duration(settings.repeat_interval),
    }
    inherited = {
        "group_by": parent and "[" + ", ".join(parent.group_by) + "]",
        "group_wait": parent and format_duration(parent.group_wait),
        "group_interval": parent and format_duration(parent.group_interval),
        "repeat_interval": parent and format_duration(parent.repeat_interval),
    }
    parts += [f"{name}: {value}" for name, value in shown.items() if value != inherited[name]]
    if settings.mute_time_intervals:
        parts.append("mute_time_intervals: " + ", ".join(settings.mute_time_intervals))
    if settings.active_time_intervals:
        parts.append("active_time_intervals: " + ", ".join(settings.active_time_intervals))
    print(INDENT * depth + "  ".join(parts), file=out)
    for child in node.routes:
        _print_node(child, settings, depth + 1, out)
