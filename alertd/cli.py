"""The `alertd` command line: parse arguments, call one function per command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from alertd import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertd", description="Alerting for Workers Analytics Engine"
    )
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate rule files and directories")
    check.add_argument(
        "paths", nargs="*", type=Path, help="rule files or directories (default: rules/)"
    )

    query = commands.add_parser("query", help="ask an ad-hoc question of a dataset")
    query.add_argument("value", help="a value expression, e.g. 'p95(duration)'")
    query.add_argument("--dataset", required=True)
    query.add_argument(
        "--by", action="append", default=[], help="group-by field (repeatable, or a,b)"
    )
    query.add_argument("--where", help="a row condition, e.g. 'status == \"success\"'")
    query.add_argument("--window", default="5m", help="window ending at --at (default 5m)")
    query.add_argument("--at", help="end of the window, ISO-8601 (default: now)")
    query.add_argument("--rules", type=Path, default=None, help="where datasets.yaml lives")
    query.add_argument("--json", action="store_true", help="print a JSON array")

    emulator = commands.add_parser("emulator", help="run a local Analytics Engine SQL API")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8787)
    emulator.add_argument("--data", type=Path, default=None, help="keep data in this directory")
    emulator.add_argument("--token", default=None, help="accept only this bearer token")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        from alertd.commands import check

        return check.run(args.paths or [Path("rules")], sys.stdout, sys.stderr)
    if args.command == "query":
        from alertd.commands import query

        return query.run(args, sys.stdout, sys.stderr)
    if args.command == "emulator":
        from alertd.commands import emulator

        return emulator.run(host=args.host, port=args.port, data_dir=args.data, token=args.token)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
