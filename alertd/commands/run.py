"""`alertd run`: the daemon, with settings and logging from the environment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

import anyio

from alertd import daemon
from alertd.clock import SystemClock
from alertd.settings import Settings


def run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    paths: list[Path] = [args.rules] if args.rules else [settings.rules_dir]
    if args.http:
        settings = settings.model_copy(update={"http_addr": args.http})

    async def main() -> int:
        return await daemon.run(
            settings,
            paths,
            clock=SystemClock(),
            out=out,
            err=err,
            json_lines=args.json,
            transitions=args.transitions,
        )

    return anyio.run(main)
