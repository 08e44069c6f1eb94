"""Datasets kept in embedded ClickHouse (chdb), one table per dataset, all times in UTC."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import chdb

from alertd.emulator.dialect import COLUMNS
from alertd.emulator.points import Point

DATASET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
PERSISTENT_DATABASE = "analytics_engine"
QUERY_TIMEOUT_SECONDS = 60  # AE's execution limit; past it AE answers 504

# chdb hosts one engine per process and is not safe to call from several threads at once.
_LOCK = threading.Lock()
_SETTINGS = "&".join(
    (
        "session_timezone=UTC",  # whatever the machine's TZ, as AE (reference §8 G6)
        "output_format_json_quote_64bit_integers=1",  # as a ClickHouse server answers
        # AE answers Float64 as strings too (reference §8 G2). Without quoting denormals,
        # ClickHouse would then write nan and inf as the string "null"; AE's form for them
        # is undocumented, and "nan", "inf", "-inf" at least say what the number is.
        "output_format_json_quote_64bit_floats=1",
        "output_format_json_quote_denormals=1",
        f"max_execution_time={QUERY_TIMEOUT_SECONDS}",
    )
)
_TYPES = {"dataset": "String", "timestamp": "DateTime('UTC')", "index1": "String"}
_DEFAULTS = {"_sample_interval": "UInt32 DEFAULT 1"}
# AE's backwards-compatible three-argument spelling of quantileExactWeighted.
_QUANTILE_WEIGHTED = (
    "CREATE FUNCTION IF NOT EXISTS quantileWeighted AS (q, x, w) -> quantileExactWeighted(q)(x, w)"
)
_connect: Callable[[str], Any] = chdb.connect  # chdb's connect carries no annotations
_EXCEPTION = re.compile(r"DB::Exception: (?P<detail>.*?)(?: \((?P<name>[A-Z_]+)\))?\s*$", re.S)


class QueryError(Exception):
    """ClickHouse refused a query; `message` and `status` are what AE would answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ChdbStorage:
    """AE datasets in embedded ClickHouse; a dataset's table appears on its first write.

    With `data_dir` the datasets survive a restart. Without one they live in a temporary
    directory removed on close. chdb binds a process to one directory, so storages without
    a `data_dir` share the open one, each in a database of its own; asking for a second
    `data_dir` while another is open raises RuntimeError.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        with _LOCK:
            path = _ENGINE.attach(data_dir)
            try:
                self._connection = _connect(f"{path}?{_SETTINGS}")
            except BaseException:
                _ENGINE.detach()
                raise
            self._database = (
                PERSISTENT_DATABASE if data_dir is not None else f"ae_{uuid.uuid4().hex[:16]}"
            )
            self._persistent = data_dir is not None
            self._closed = False
            self._run(f"CREATE DATABASE IF NOT EXISTS {self._database}")
            self._run(f"USE {self._database}")
            self._run(_QUANTILE_WEIGHTED)

    def __enter__(self) -> ChdbStorage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, dataset: str, points: Sequence[Point]) -> int:
        """Record `points` in `dataset` with one INSERT, creating its table if needed."""
        _check_name(dataset)
        if not points:
            return 0
        rows = "\n".join(json.dumps(_row(dataset, point)) for point in points)
        with _LOCK:
            self._run(_create_table(dataset))
            self._run(f"INSERT INTO `{dataset}` FORMAT JSONEachRow\n{rows}\n")
        return len(points)

    def create(self, dataset: str) -> None:
        """Make `dataset` exist, empty if nothing was written to it yet."""
        _check_name(dataset)
        with _LOCK:
            self._run(_create_table(dataset))

    def query(self, sql: str, fmt: str) -> bytes:
        """Run one statement; `fmt` applies unless the SQL names its own FORMAT."""
        with _LOCK:
            try:
                return bytes(self._connection.query(sql, fmt).bytes())
            # The engine raises a RuntimeError subclass other than the chdb.ChdbError export.
            except (chdb.ChdbError, RuntimeError) as error:
                raise self.translate(str(error)) from error

    def translate(self, text: str) -> QueryError:
        """The error AE would answer for ClickHouse's exception `text`."""
        return _translate(text, self._database)

    def show_tables(self, fmt: str) -> bytes:
        """The datasets as AE's SHOW TABLES lists them, in `fmt`."""
        return self.query(
            "SELECT name AS dataset FROM system.tables "
            "WHERE database = currentDatabase() ORDER BY dataset",
            fmt,
        )

    def datasets(self) -> list[str]:
        """The names of the datasets written so far."""
        listing = self.show_tables("JSONEachRow").decode()
        return [json.loads(line)["dataset"] for line in listing.splitlines() if line]

    def reset(self) -> None:
        """Drop every dataset."""
        for dataset in self.datasets():
            with _LOCK:
                self._run(f"DROP TABLE IF EXISTS `{dataset}` SYNC")

    def close(self) -> None:
        """Release the engine; a temporary storage's datasets go with it."""
        with _LOCK:
            if self._closed:
                return
            self._closed = True
            try:
                if not self._persistent:
                    self._run(f"DROP DATABASE IF EXISTS {self._database} SYNC")
            finally:
                self._connection.close()
                _ENGINE.detach()

    def _run(self, sql: str) -> None:
        self._connection.query(sql, "TabSeparated")


class _Engine:
    """Bookkeeping for the one chdb engine a process may host, guarded by _LOCK."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.users = 0
        self.owned = False

    def attach(self, data_dir: str | os.PathLike[str] | None) -> str:
        wanted = str(Path(data_dir).resolve()) if data_dir is not None else None
        if self.path is None:
            if wanted is None:
                self.path, self.owned = tempfile.mkdtemp(prefix="alertd-emulator-"), True
            else:
                Path(wanted).mkdir(parents=True, exist_ok=True)
                self.path, self.owned = wanted, False
        elif wanted is not None and wanted != self.path:
            raise RuntimeError(
                f"chdb already holds {self.path} in this process; "
                f"close every emulator storage before opening {wanted}"
            )
        self.users += 1
        return self.path

    def detach(self) -> None:
        self.users -= 1
        if self.users == 0 and self.path is not None:
            if self.owned:
                shutil.rmtree(self.path, ignore_errors=True)
            self.path, self.owned = None, False


_ENGINE = _Engine()


def _check_name(dataset: str) -> None:
    if not DATASET_NAME.fullmatch(dataset):
        raise ValueError(f"invalid dataset name {dataset!r}: use letters, digits and _")


def _create_table(dataset: str) -> str:
    columns = ", ".join(
        f"`{name}` {_DEFAULTS.get(name) or _TYPES.get(name) or _type_by_prefix(name)}"
        for name in COLUMNS
    )
    return (
        f"CREATE TABLE IF NOT EXISTS `{dataset}` ({columns}) ENGINE = MergeTree ORDER BY timestamp"
    )


def _type_by_prefix(column: str) -> str:
    return "Float64" if column.startswith("double") else "String"


def _row(dataset: str, point: Point) -> dict[str, object]:
    row: dict[str, object] = {
        "dataset": dataset,
        "timestamp": point.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
        "index1": point.index,
        "_sample_interval": point.sample_interval,
    }
    row.update({f"blob{i}": blob for i, blob in enumerate(point.blobs, start=1)})
    row.update({f"double{i}": value for i, value in enumerate(point.doubles, start=1)})
    return row


def _translate(text: str, database: str) -> QueryError:
    """Turn a ClickHouse exception into the short message AE would give for it."""
    text = text.replace(f"{database}.", "")  # the client knows datasets, not our databases
    match = _EXCEPTION.search(text)
    detail = match.group("detail") if match else text
    name = match.group("name") if match else None
    quoted = re.search(r"[`'](?P<q>[^`']+)[`']", detail)
    subject = quoted.group("q") if quoted else ""
    if name == "TIMEOUT_EXCEEDED":
        return QueryError("Gateway Timeout", 504)
    if name == "UNKNOWN_IDENTIFIER":
        return QueryError(f"Input was invalid: cannot select unknown column: {subject}")
    if name == "UNKNOWN_TABLE":
        return QueryError(f"Input was invalid: unknown table: {subject}")
    if name == "UNKNOWN_FUNCTION":
        return QueryError(f"Input was invalid: unknown function call: {subject.upper()}")
    position = re.search(r"failed at position (\d+)", detail)
    if name == "SYNTAX_ERROR" and position:
        return QueryError(f"Input was invalid: syntax error at position {position.group(1)}")
    # Keep the first sentence only: the rest repeats the query back.
    short = re.split(r"\.? In (?:scope|query) |: While processing ", detail)[0]
    return QueryError(f"Input was invalid: {' '.join(short.split())[:300]}")
