"""Label matchers in Alertmanager's text form: `a="v"`, `a!="v"`, `a=~"re"`, `a!~"re"`.

The syntax is tiny and fixed, so a hand scanner reads it: a label name, an operator, and a
value that is either double-quoted (with `\\"`, `\\\\` and `\\n` escapes) or bare up to the
end, a comma or a closing brace. Like Alertmanager, a backslash before any other character
is kept as written, so `=~"db\\.prod"` means the regex `db\\.prod`. An alert without the
label is matched as if the label were empty.

Regexes are RE2's, as in Alertmanager (Go's regexp): `[[:alpha:]]` and `\\pL` work, while
lookarounds and backreferences are refused. Like Alertmanager they are anchored as
`^(?:re)$`; each distinct regex is compiled once, and recent answers are remembered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import re2

from alertd.model import Labels, Severity

Op = Literal["=", "!=", "=~", "!~"]
LabelSet = Labels | Mapping[str, str]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS: tuple[Op, ...] = ("=~", "!~", "!=", "=")  # two-character operators first
_BARE_STOP = ',}"'
# RE2 would log every refused regex on stderr; the refusal is reported as an error instead.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


class MatcherError(ValueError):
    """A matcher does not parse; `offset` is the 0-based position of the problem in its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Matcher:
    """One condition on one label; raises MatcherError on a regex that does not compile."""

    name: str
    op: Op
    value: str
    _regex: re2._Regexp[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise MatcherError(f"invalid label name {self.name!r}")
        if self.op in ("=~", "!~"):
            try:
                compiled = anchored(self.value)
            except re2.error:
                reason = regex_error(self.value)
                raise MatcherError(f"invalid regex for {self.name}: {reason}") from None
            object.__setattr__(self, "_regex", compiled)

    def matches(self, labels: LabelSet) -> bool:
        """Whether the labels satisfy this matcher; a missing label counts as empty."""
        value = as_mapping(labels).get(self.name, "")
        if self._regex is not None:
            found = regex_matches(self.value, value)
            return found if self.op == "=~" else not found
        return (value == self.value) if self.op == "=" else (value != self.value)

    @property
    def matches_empty(self) -> bool:
        """Whether an alert lacking this label would match (so the matcher selects little)."""
        return self.matches(())

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{escape(self.value)}"'


@lru_cache(maxsize=4096)
def anchored(regex: str) -> re2._Regexp[str]:
    """`regex` compiled as Alertmanager does, `^(?:regex)$`; raises re2.error if invalid.

    Cached: the same few regexes are built for every route, rule and silence.
    """
    return re2.compile(f"^(?:{regex})$", _OPTIONS)


@lru_cache(maxsize=65536)
def regex_matches(regex: str, value: str) -> bool:
    """Whether `value` matches the anchored `regex`; remembered, because the RE2 binding
    takes microseconds a call and the same alerts are matched again on every step."""
    return anchored(regex).search(value) is not None


def regex_error(regex: str) -> str:
    """Why RE2 refuses `regex`, quoting the regex as written rather than anchored."""
    for text in (regex, f"^(?:{regex})$"):
        try:
            re2.compile(text, _OPTIONS)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else "invalid"
            return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return "invalid"


def matches_all(matchers: tuple[Matcher, ...], labels: LabelSet) -> bool:
    """Whether every matcher holds (an empty list holds for every alert)."""
    as_dict = as_mapping(labels)
    return all(m.matches(as_dict) for m in matchers)


def escape(value: str) -> str:
    """The value as it is written between double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher such as `team=~"db|platform"`; raise MatcherError if invalid."""
    matcher, end = _scan_matcher(text, _skip_space(text, 0), in_list=False)
    end = _skip_space(text, end)
    if end != len(text):
        raise MatcherError("unexpected text after the matcher", end)
    return matcher


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Parse one matcher or a comma-separated list, optionally in braces: `{a="1", b!="2"}`."""
    position = _skip_space(text, 0)
    braced = text.startswith("{", position)
    if braced:
        position = _skip_space(text, position + 1)
    found: list[Matcher] = []
    while position < len(text) and not (braced and text[position] == "}"):
        matcher, position = _scan_matcher(text, position, in_list=True)
        found.append(matcher)
        position = _skip_space(text, position)
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
        elif position < len(text) and not (braced and text[position] == "}"):
            raise MatcherError("expected a comma between matchers", position)
    if braced:
        if position >= len(text):
            raise MatcherError("missing closing brace", len(text))
        position = _skip_space(text, position + 1)
        if position != len(text):
            raise MatcherError("unexpected text after the closing brace", position)
    if not found:
        raise MatcherError('expected at least one matcher such as team="db"', position)
    return tuple(found)


def with_identity(rule: str, labels: Labels, severity: Severity | None) -> Labels:
    """The labels notification matches on: the alert's own plus `alertname` and `severity`."""
    extra = {"alertname": rule}
    if severity is not None:
        extra["severity"] = severity.value
    return tuple(sorted({**dict(labels), **extra}.items()))


def _scan_matcher(text: str, start: int, *, in_list: bool) -> tuple[Matcher, int]:
    name_match = _NAME.match(text, start)
    if name_match is None:
        raise MatcherError("expected a label name", start)
    name = name_match.group()
    position = _skip_space(text, name_match.end())
    op = next((o for o in _OPS if text.startswith(o, position)), None)
    if op is None:
        raise MatcherError(f"expected an operator (=, !=, =~, !~) after {name!r}", position)
    position = _skip_space(text, position + len(op))
    if text.startswith('"', position):
        value, position = _scan_quoted(text, position)
    else:
        value, position = _scan_bare(text, position, in_list=in_list)
    try:
        return Matcher(name, op, value), position
    except MatcherError as exc:
        raise MatcherError(exc.message, start) from None


def _scan_quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(out), position + 1
        if char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(following, "\\" + following))
            position += 2
            continue
        out.append(char)
        position += 1
    raise MatcherError("missing closing quote", start)


def _scan_bare(text: str, start: int, *, in_list: bool) -> tuple[str, int]:
    position = start
    stops = _BARE_STOP if in_list else '"'
    while position < len(text) and text[position] not in stops:
        position += 1
    if position < len(text) and text[position] == '"':
        raise MatcherError("a value with quotes must be quoted as a whole", position)
    value = text[start:position].rstrip()
    return _unescape(value), start + len(value)


def _unescape(value: str) -> str:
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", '"': '"', "\\": "\\"}.get(m[1], m[0]), value, flags=re.S
    )


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def as_mapping(labels: LabelSet) -> Mapping[str, str]:
    """Labels as a mapping, converting the tuple form once for many matchers."""
    if type(labels) is dict:  # the usual case, asked per matcher: skip the slower ABC test
        return labels
    return labels if isinstance(labels, Mapping) else dict(labels)
