"""The `alertd` command line: parse arguments, call one function per command."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from alertd import __version__
from alertd.commands.environment import settings_problems, unknown_variables
from alertd.logging import configure
from alertd.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertd", description="Alerting for Workers Analytics Engine"
    )
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate rule files and directories")
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="rule files or directories (default: $ALERTD_RULES_DIR or rules/)",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="a receiver a route names that cannot send (a secret unset) is an error",
    )
    check.add_argument(
        "--cost",
        action="store_true",
        help="also print the AE read queries per tick and month, and their monthly bill",
    )
    check.add_argument("--json", action="store_true", help="with --cost: print it as JSON")

    test = commands.add_parser("test", help="run rule unit tests written in YAML")
    test.add_argument("files", nargs="+", type=Path, metavar="FILE", help="test files")
    test.add_argument("--junit", type=Path, default=None, help="also write JUnit XML here")

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

    report = commands.add_parser("report", help="build a performance report, print or send it")
    report.add_argument("kind", choices=["daily", "weekly"])
    report.add_argument("--at", help="end of the reported period, ISO-8601 (default: now)")
    report.add_argument(
        "--send", metavar="RECEIVER", help="send it to this slack, teams or console receiver"
    )
    report.add_argument("--json", action="store_true", help="print JSON")
    report.add_argument("--rules", type=Path, default=None, help="where the rules live")

    run = commands.add_parser("run", help="run the daemon until SIGTERM")
    run.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="rules directory (default: $ALERTD_RULES_DIR or rules/)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print JSON lines: console notifications and, with --transitions, transitions",
    )
    run.add_argument(
        "--transitions", action="store_true", help="print every transition on stdout too"
    )
    run.add_argument("--http", metavar="HOST:PORT", help=HTTP_HELP)

    backtest = commands.add_parser("backtest", help="replay rules over history, send nothing")
    backtest.add_argument("--from", dest="start", required=True, help="ISO-8601 start (UTC)")
    backtest.add_argument("--to", dest="end", required=True, help="ISO-8601 end (UTC)")
    backtest.add_argument(
        "--step", default=None, help="tick every STEP instead of each group's interval"
    )
    backtest.add_argument("--rules", type=Path, default=None)
    backtest.add_argument("--json", action="store_true", help="one JSON object per transition")
    backtest.add_argument(
        "--notifications", action="store_true", help="print the notifications instead (JSON lines)"
    )
    backtest.add_argument(
        "--deliver", action="store_true", help="send the notifications (implies --notifications)"
    )
    backtest.add_argument(
        "--rule",
        dest="rule_names",
        action="append",
        default=[],
        metavar="NAME",
        help="replay only this rule (repeatable)",
    )
    backtest.add_argument(
        "--coarse",
        action="store_true",
        help="allow a --step coarser than a group's interval (transitions say so)",
    )
    backtest.add_argument(
        "--exact",
        action="store_true",
        help="ask AE tick by tick, as the daemon does, instead of per range (much slower)",
    )

    routes = commands.add_parser(
        "routes", help="print the route tree, or where an alert with these labels goes"
    )
    routes.add_argument("labels", nargs="*", metavar="LABEL=VALUE", help="the alert's labels")
    routes.add_argument("--tree", action="store_true", help="print the route tree")
    routes.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the notification file (default: the one in $ALERTD_RULES_DIR or rules/)",
    )

    demo = commands.add_parser("demo", help="emulator + simulated incidents + the daemon")
    demo.add_argument("--speed", type=float, default=10.0, help="simulated seconds per second")
    demo.add_argument(
        "--rules", type=Path, default=None, help="default: $ALERTD_RULES_DIR or rules/"
    )
    demo.add_argument("--http", metavar="HOST:PORT", help=HTTP_HELP)
    demo.add_argument("--ingest-delay", metavar="D[:JITTER]", default=None, help=INGEST_HELP)

    simulate = commands.add_parser("simulate", help="write simulated traffic into an emulator")
    simulate.add_argument("--emulator", default="http://127.0.0.1:8787")
    simulate.add_argument("--timeline", type=Path, default=None, help="default: the demo's")
    simulate.add_argument("--from", dest="start", default=None, help="ISO-8601 start (UTC)")
    simulate.add_argument("--to", dest="end", default=None, help="ISO-8601 end (UTC)")
    simulate.add_argument("--live", action="store_true", help="keep writing up to now")
    simulate.add_argument("--speed", type=float, default=1.0)
    simulate.add_argument("--seed", type=int, default=7)

    silence = commands.add_parser("silence", help="add, list or expire silences")
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument(
        "--url",
        default=os.environ.get("ALERTD_URL"),
        help="a running daemon's HTTP API (default: $ALERTD_URL; unset: the state file)",
    )
    actions = silence.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="mute matching alerts for a while", parents=[remote])
    add.add_argument(
        "matchers",
        nargs="+",
        metavar="MATCHER",
        help='e.g. team="db"; a bare first word is alertname',
    )
    length = add.add_mutually_exclusive_group(required=True)
    length.add_argument("--duration", help="how long from the start, e.g. 2h")
    length.add_argument("--until", help="end, ISO-8601 (UTC if no zone)")
    add.add_argument("--start", help="start, ISO-8601 (default: now)")
    add.add_argument("--comment", required=True, help="why the alerts are muted")
    add.add_argument("--author", help="who is silencing (default: $USER)")
    add.add_argument("--json", action="store_true", help="print the silence as JSON")
    listing = actions.add_parser("list", help="active and pending silences", parents=[remote])
    listing.add_argument("--all", action="store_true", help="include expired silences")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    expire = actions.add_parser("expire", help="end a silence now", parents=[remote])
    expire.add_argument("id", metavar="ID")

    alerts = commands.add_parser(
        "alerts", help="the alerts pending and firing now", parents=[remote]
    )
    alerts.add_argument(
        "matchers",
        nargs="*",
        metavar="MATCHER",
        help='e.g. team="db"; a bare first word is alertname',
    )
    alerts.add_argument("--json", action="store_true", help="print a JSON array")
    alerts.add_argument("--rules", type=Path, default=None, help="where notify.yaml lives")

    notify_test = commands.add_parser(
        "notify-test", help="send a test alert and its resolve through one receiver"
    )
    notify_test.add_argument("receiver", metavar="RECEIVER")
    notify_test.add_argument("--rules", type=Path, default=None, help="where notify.yaml lives")

    emulator = commands.add_parser("emulator", help="run a local Analytics Engine SQL API")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8787)
    emulator.add_argument("--data", type=Path, default=None, help="keep data in this directory")
    emulator.add_argument("--token", default=None, help="accept only this bearer token")
    emulator.add_argument("--ingest-delay", metavar="D[:JITTER]", default=None, help=INGEST_HELP)
    return parser


MATCHER_HELP = 'e.g. team="db"; a bare first word is alertname'
# Commands a person watches log warnings only, so their output stays readable.
INGEST_HELP = (
    "make each written row visible only D seconds (plus up to JITTER more) after its timestamp"
)
HTTP_HELP = "serve the HTTP API here (default: $ALERTD_HTTP_ADDR or 127.0.0.1:9079)"
_QUIET = frozenset(
    {
        "check",
        "test",
        "query",
        "report",
        "backtest",
        "simulate",
        "demo",
        "silence",
        "alerts",
        "notify-test",
        "routes",
    }
)
# What a shell reports for a process ended by SIGPIPE (128 + 13): the reader left early.
PIPE_CLOSED = 141


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    problems = unknown_variables(os.environ)
    settings: Settings | None = None
    try:
        settings = Settings()
    except ValidationError as exc:
        problems.extend(settings_problems(exc))
    if problems or settings is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    level = (
        settings.log_level
        if "ALERTD_LOG_LEVEL" in os.environ or args.command not in _QUIET
        else "warning"
    )
    configure(level, settings.log_format, [settings.cloudflare_api_token.get_secret_value()])
    try:
        code = _dispatch(args, settings)
        sys.stdout.flush()  # so a closed pipe shows here rather than at exit
    except BrokenPipeError:
        _discard_stdout()
        return PIPE_CLOSED
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it again at exit, which would fail too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a file descriptor (a captured stream): nothing is flushed at exit
    finally:
        os.close(devnull)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check":
        from alertd.commands import check

        if args.json and not args.cost:
            print("alertd check: --json needs --cost", file=sys.stderr)
            return 2
        return check.run(
            args.paths or [settings.rules_dir],
            sys.stdout,
            sys.stderr,
            cost=args.cost,
            json=args.json,
            strict=args.strict,
        )
    if args.command == "routes":
        from alertd.commands import routes

        return routes.run(
            args.config, settings.rules_dir, args.labels, args.tree, sys.stdout, sys.stderr
        )
    if args.command == "test":
        if missing := _missing_extra("test"):
            return missing
        from alertd.commands import ruletest

        return ruletest.run(args.files, args.junit, sys.stdout, sys.stderr)
    if args.command == "query":
        from alertd.commands import query

        return query.run(args, settings, sys.stdout, sys.stderr)
    if args.command == "report":
        from alertd.commands import report

        return report.run(args, settings, sys.stdout, sys.stderr)
    if args.command == "run":
        from alertd.commands import run

        return run.run(args, settings, sys.stdout, sys.stderr)
    if args.command == "backtest":
        from alertd.commands import backtest

        return backtest.run(args, settings, sys.stdout, sys.stderr)
    if args.command == "demo":
        if missing := _missing_extra("demo"):
            return missing
        from alertd.commands import demo

        return demo.run(args, args.rules or settings.rules_dir, sys.stdout, sys.stderr)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "silence":
        from alertd.commands import silence

        return silence.run(args, sys.stdout, sys.stderr)
    if args.command == "alerts":
        from alertd.commands import alerts

        return alerts.run(args, settings, sys.stdout, sys.stderr)
    if args.command == "notify-test":
        from alertd.commands import notify_test

        return notify_test.run(
            args.receiver, args.rules or settings.rules_dir, sys.stdout, sys.stderr
        )
    if args.command == "emulator":
        if missing := _missing_extra("emulator"):
            return missing
        from alertd.commands import emulator

        return emulator.run(
            host=args.host,
            port=args.port,
            data_dir=args.data,
            token=args.token,
            ingest_delay=args.ingest_delay,
        )
    raise AssertionError(f"unhandled command {args.command}")


# What the `emulator` extra installs, by the module each is imported as.
EMULATOR_MODULES = ("chdb", "sqlglot", "starlette", "uvicorn")


def _missing_extra(command: str) -> int:
    """1, after saying so in one line, when the emulator's packages are not installed."""
    absent = [name for name in EMULATOR_MODULES if importlib.util.find_spec(name) is None]
    if not absent:
        return 0
    print(
        f"alertd {command}: needs the emulator extra ({', '.join(absent)} not installed): "
        "pip install 'alertd[emulator]'",
        file=sys.stderr,
    )
    return 1


def _simulate(args: argparse.Namespace) -> int:
    from alertd.commands import simulate
    from alertd.commands.arguments import UsageError, optional_time

    try:
        start = optional_time("--from", args.start)
        end = optional_time("--to", args.end)
    except UsageError as exc:
        print(f"alertd simulate: {exc}", file=sys.stderr)
        return 2
    return simulate.run(
        args.emulator,
        args.timeline,
        start,
        end,
        args.live,
        args.speed,
        args.seed,
        sys.stdout,
        err=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
