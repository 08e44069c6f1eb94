"""`alertd test FILE...`: run rule unit tests; print what differs; JUnit XML on request."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

import anyio

from alertd.commands.ruletests import spec
from alertd.commands.ruletests.runner import Outcome, run_case
from alertd.emulator.storage import ChdbStorage
from alertd.errors import Location, RuleError
from alertd.notify.build import notify_config
from alertd.query.check import check_rules


def run(files: list[Path], junit: Path | None, out: TextIO, err: TextIO) -> int:
    """0 when every case of every file passes; 1 when one fails or a file is invalid."""
    results: dict[str, list[Outcome]] = {}
    broken = False
    with ChdbStorage() as storage:
        for file in files:
            try:
                results[str(file)] = anyio.run(_run_file, file, storage)
            except RuleError as exc:
                print(str(exc), file=err)
                results[str(file)] = [Outcome("(file)", [str(exc)])]
                broken = True
                continue
            for outcome in results[str(file)]:
                _report(str(file), outcome, out)
    passed = sum(o.passed for found in results.values() for o in found)
    failed = sum(not o.passed for found in results.values() for o in found)
    print(f"{passed} passed, {failed} failed", file=out)
    if junit is not None:
        _write_junit(junit, results)
    return 1 if failed or broken else 0


async def _run_file(file: Path, storage: ChdbStorage) -> list[Outcome]:
    test_file, rule_paths = spec.read(file)
    loaded = check_rules(rule_paths)
    config, notify_errors = notify_config(rule_paths)
    errors = [*loaded.errors, *notify_errors]
    if errors or config is None:
        raise errors[0] if errors else RuleError(Location(str(file)), "no rules")
    return [
        await run_case(case, loaded.ruleset, config, storage, test_file.start, str(file))
        for case in test_file.tests
    ]


def _report(file: str, outcome: Outcome, out: TextIO) -> None:
    if outcome.passed:
        print(f"PASS {file}: {outcome.name}", file=out)
        return
    print(f"FAIL {file}: {outcome.name}", file=out)
    for failure in outcome.failures:
        for line in failure.splitlines():
            print(f"    {line}", file=out)


def _write_junit(path: Path, results: dict[str, list[Outcome]]) -> None:
    suites = ET.Element("testsuites")
    for file, outcomes in results.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(outcomes)),
            failures=str(sum(not o.passed for o in outcomes)),
        )
        for outcome in outcomes:
            case = ET.SubElement(suite, "testcase", classname=file, name=outcome.name)
            if not outcome.passed:
                failure = ET.SubElement(
                    case, "failure", message=outcome.failures[0].splitlines()[0]
                )
                failure.text = "\n\n".join(outcome.failures)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
