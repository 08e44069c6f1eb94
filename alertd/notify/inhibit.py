"""Inhibition: a firing alert mutes related, less important ones (critical mutes warning).

`InhibitRule.mutes` is the definition, one pair of alerts at a time. A step asks it of
every firing alert at once, so `Inhibitor` indexes the firing alerts first, as
Alertmanager's inhibitor caches its sources: for each rule, its sources by their `equal`
values. Whether an alert is muted is then one lookup per rule, not a comparison with every
firing alert, which in an alert storm would hold up the notifier for minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.model import Labels
from alertd.notify.matchers import LabelSet, Matcher, as_mapping, matches_all

EqualValues = tuple[str, ...]


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
        neither would page. So an alert never mutes itself.
        """
        two_sided = matches_all(self.source, target)
        return (
            matches_all(self.target, target)
            and matches_all(self.source, source)
            and not (two_sided and matches_all(self.target, source))
            and self.equal_values(target) == self.equal_values(source)
        )

    def equal_values(self, labels: Mapping[str, str]) -> EqualValues:
        """The alert's values of the `equal` labels, empty where it lacks one."""
        return tuple(labels.get(name, "") for name in self.equal)


@dataclass(frozen=True)
class _Sources:
    """One rule's firing sources by their `equal` values, each as the position of the first
    in firing order: of every source, and of those that do not match the target side (the
    only ones that may mute a target matching the source side too; see `mutes`)."""

    rule: InhibitRule
    every: dict[EqualValues, int] = field(default_factory=dict)
    one_sided: dict[EqualValues, int] = field(default_factory=dict)

    def add(self, position: int, source: Mapping[str, str]) -> None:
        if not matches_all(self.rule.source, source):
            return
        values = self.rule.equal_values(source)
        self.every.setdefault(values, position)
        if not matches_all(self.rule.target, source):
            self.one_sided.setdefault(values, position)

    def first_muting(self, target: Mapping[str, str]) -> int | None:
        """The position of the first source that mutes `target` under this rule, if any."""
        if not matches_all(self.rule.target, target):
            return None
        two_sided = matches_all(self.rule.source, target)
        sources = self.one_sided if two_sided else self.every
        return sources.get(self.rule.equal_values(target))


class Inhibitor:
    """The firing alerts, indexed by rule to answer which alerts they mute.

    Built once per step from every firing alert: each answer then costs one lookup per
    rule, so a step with n alerts firing costs O(n), not O(n²).
    """

    def __init__(self, firing: Iterable[Labels], rules: Iterable[InhibitRule]) -> None:
        self._firing: Sequence[Labels] = list(firing)
        self._sources = [_Sources(rule) for rule in rules]
        if not self._sources:
            return
        for position, labels in enumerate(self._firing):
            source = as_mapping(labels)
            for sources in self._sources:
                sources.add(position, source)

    def muted_by(self, labels: LabelSet) -> Labels | None:
        """The labels of the first firing alert that mutes this one; None if none does."""
        target = as_mapping(labels)
        found = [p for s in self._sources if (p := s.first_muting(target)) is not None]
        return self._firing[min(found)] if found else None

    def mutes(self, labels: LabelSet) -> bool:
        """Whether any firing alert mutes the alert with these labels under any rule."""
        return self.muted_by(labels) is not None


def inhibited(labels: LabelSet, firing: Iterable[Labels], rules: Iterable[InhibitRule]) -> bool:
    """Whether any firing alert mutes the alert with these labels under any rule.

    For one question; to ask about every firing alert, build one `Inhibitor`.
    """
    return Inhibitor(firing, rules).mutes(labels)


def inhibitor(
    labels: LabelSet, firing: Iterable[Labels], rules: Iterable[InhibitRule]
) -> Labels | None:
    """The labels of a firing alert that mutes this one, for status pages; None if none does."""
    return Inhibitor(firing, rules).muted_by(labels)
