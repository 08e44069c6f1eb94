"""Nanoseconds per label-matcher test: an equality, and an RE2 regex with its compiled form
and answers cached (as the daemon runs), with only the compiled regex cached (a value not
seen before), and with both caches emptied (a regex not seen before).

    .venv/bin/python bench/matchers.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from alertd.notify.matchers import Matcher, anchored, regex_matches

LABELS = {"alertname": "SlowQueryP95", "team": "database", "env": "production"}
REGEX = "prod.*|staging"
ROUNDS = 200_000
UNCACHED_ROUNDS = 20_000


def per_call_ns(call: Callable[[], object], rounds: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(rounds):
        call()
    return (time.perf_counter_ns() - start) / rounds


def new_value(matcher: Matcher) -> Callable[[], object]:
    def match() -> object:
        regex_matches.cache_clear()
        return matcher.matches(LABELS)

    return match


def new_regex() -> object:
    anchored.cache_clear()
    regex_matches.cache_clear()
    return Matcher("env", "=~", REGEX).matches(LABELS)


def main() -> None:
    equal = Matcher("team", "=", "database")
    regex = Matcher("env", "=~", REGEX)
    rows = [
        ("equality", per_call_ns(lambda: equal.matches(LABELS), ROUNDS)),
        ("regex, answer cached", per_call_ns(lambda: regex.matches(LABELS), ROUNDS)),
        ("regex, compiled only", per_call_ns(new_value(regex), UNCACHED_ROUNDS)),
        ("regex, uncached (compiled anew)", per_call_ns(new_regex, UNCACHED_ROUNDS)),
    ]
    for name, ns in rows:
        print(f"{name:34} {ns:8.0f} ns per match")


if __name__ == "__main__":
    main()
