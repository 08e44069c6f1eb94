"""A matcher that counts how often it is asked, to bound the work of a step."""

from dataclasses import dataclass, field

from alertd.notify.matchers import LabelSet, Matcher


@dataclass(frozen=True)
class CountedMatcher(Matcher):
    """A matcher that notes in `asked` every time it is asked."""

    asked: list[None] = field(default_factory=list, compare=False, repr=False)

    def matches(self, labels: LabelSet) -> bool:
        self.asked.append(None)
        return super().matches(labels)


def counted(matchers: tuple[Matcher, ...], asked: list[None]) -> tuple[Matcher, ...]:
    """The same matchers, noting in `asked` every time one is asked."""
    return tuple(CountedMatcher(m.name, m.op, m.value, asked) for m in matchers)
