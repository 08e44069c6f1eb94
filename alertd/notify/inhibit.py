"""Inhibition: a firing alert mutes related, less important ones (critical mutes warning)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alertd.model import Labels
from alertd.notify.matchers import LabelSet, Matcher, as_mapping, matches_all


@dataclass(frozen=True)
class InhibitRule:
    """While a firing alert matches `source`, alerts matching `target` are muted, provided
    both have equal values (a missing label counts as empty) for every label in `equal`."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    def mutes(self, target: Mapping[str, str], source: Mapping[str, str]) -> bool:
        """Whether the firing alert `source` mutes `target` under this rule.

        As in Alertmanager, an alert that matches both sides can only be muted by a
        source that does not: otherwise two such alerts would mute each other and
        neither would page.
        """
        two_sided = matches_all(self.source, target)
        return (
            matches_all(self.target, target)
            and matches_all(self.source, source)
            and not (two_sided and matches_all(self.target, source))
            and all(target.get(name, "") == source.get(name, "") for name in self.equal)
        )


def inhibited(labels: LabelSet, firing: Iterable[Labels], rules: Iterable[InhibitRule]) -> bool:
    """Whether any firing alert mutes the alert with these labels under any rule.

    An alert never inhibits itself, even when it matches both sides of a rule: a critical
    alert that also matches `severity=~"warning|critical"` stays visible.
    """
    return inhibitor(labels, firing, rules) is not None


def inhibitor(
    labels: LabelSet, firing: Iterable[Labels], rules: Iterable[InhibitRule]
) -> Labels | None:
    """The labels of a firing alert that mutes this one, for status pages; None if none does."""
    target = as_mapping(labels)
    candidates = [r for r in rules if matches_all(r.target, target)]
    if not candidates:
        return None
    for source_labels in firing:
        source = as_mapping(source_labels)
        if source == target:
            continue
        if any(rule.mutes(target, source) for rule in candidates):
            return source_labels
    return None
