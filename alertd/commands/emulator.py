"""`alertd emulator`: a local Analytics Engine SQL API on embedded ClickHouse."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from alertd.emulator.ingest import IngestDelay, IngestDelayError
from alertd.emulator.server import StartupError, serve


def run(
    *,
    host: str,
    port: int,
    data_dir: Path | None,
    token: str | None,
    ingest_delay: str | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM and exit 0; a reason not to start is one line, exit 1
    (2 for a malformed `--ingest-delay`)."""
    try:
        delay = IngestDelay.parse(ingest_delay) if ingest_delay else None
    except IngestDelayError as exc:
        print(f"alertd emulator: {exc}", file=err or sys.stderr)
        return 2
    try:
        serve(host=host, port=port, data_dir=data_dir, token=token, ingest_delay=delay)
    except StartupError as exc:
        print(f"alertd emulator: {exc}", file=err or sys.stderr)
        return 1
    return 0
