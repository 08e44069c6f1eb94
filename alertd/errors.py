"""The error hierarchy every part of alertd raises and catches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class AlertdError(Exception):
    """Base of every error alertd raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in a rule file something was written (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


class RuleError(AlertdError):
    """A rule file is invalid; the message names file, line, column and key."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


class RuleErrors(AlertdError):
    """Every error found while loading a set of rule files, not only the first."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class ExpressionError(AlertdError):
    """An expression does not parse or does not type-check; `offset` is 0-based in its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class UnsafeLiteralError(AlertdError):
    """A literal cannot be written into SQL without changing the statement's meaning."""


class SourceError(AlertdError):
    """A query against a data source failed.

    `retryable` says whether the same query may succeed later; `retry_after` is the
    server's own hint in seconds, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class SourceAuthError(SourceError):
    """The source refused our credentials (AE answers 403)."""


class QueryRejectedError(SourceError):
    """The source refused the SQL itself (AE answers 422): a rule or compiler problem."""


class ReceiverError(AlertdError):
    """A notification could not be delivered."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class StoreError(AlertdError):
    """The state store failed to read or write."""


class StoreInUseError(StoreError):
    """Another process (or another open store) holds the state directory's lock."""

    def __init__(self, lock_file: Path, holder: int | None) -> None:
        pid = "pid unknown" if holder is None else f"pid {holder}"
        super().__init__(
            f"another alertd ({pid}) is running on the state directory {lock_file.parent}"
            f" (it holds {lock_file}): only one daemon may use a state directory"
        )
        self.holder = holder


class LeaseLostError(StoreError):
    """A write was refused: this replica no longer holds the lease of what it writes (it
    expired, or another replica took it). Nothing was written, and nothing must be sent."""
