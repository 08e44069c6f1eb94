"""structlog set-up: JSON off a terminal, readable on one, secrets masked everywhere.

The standard library's logging (warnings from httpx, asyncio, Python's own `warnings`)
goes through the same renderer, so every line on stderr has one format.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

MASK = "***"
FORMATS = ("auto", "json", "logfmt", "console")


def _masker(secrets: Iterable[str]) -> structlog.types.Processor:
    values = [s for s in secrets if s]

    def mask(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                for secret in values:
                    value = value.replace(secret, MASK)
                event[key] = value
        return event

    return mask


class _CurrentStderr:
    """Writes to whatever sys.stderr is now, so a replaced stream is never written after close."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler alertd puts on the root logger; replaced when configured again."""


def _renderer(fmt: str) -> structlog.types.Processor:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    if fmt == "logfmt":
        return structlog.processors.LogfmtRenderer(
            key_order=["timestamp", "level", "event"], drop_missing=True
        )
    return structlog.dev.ConsoleRenderer(colors=False)


def configure(level: str = "info", fmt: str = "auto", secrets: Iterable[str] = ()) -> None:
    """Configure logging once per process; `secrets` never appear in any log line."""
    threshold = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        # Records from the standard library get the same fields, and their logger's name.
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _masker(secrets),
            _renderer(fmt),
        ],
    )
    handler = _Handler(_CurrentStderr())
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Other libraries speak at warning and above (httpx logs every request at info).
    root.setLevel(max(threshold, logging.WARNING))
    logging.getLogger("alertd").setLevel(threshold)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
