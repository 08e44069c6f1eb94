"""`alertd emulator`: a local Analytics Engine SQL API on embedded ClickHouse."""

from __future__ import annotations

from pathlib import Path

from alertd.emulator.server import serve


def run(*, host: str, port: int, data_dir: Path | None, token: str | None) -> int:
    serve(host=host, port=port, data_dir=data_dir, token=token)
    return 0
