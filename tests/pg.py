"""A PostgreSQL database of the tests' own on the local server, made and dropped by them.

Each test run makes one database (`alertd_test_<random>`) and each test a schema of its
own in it, so tests never see each other's tables, nor any other database on the server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from psycopg import sql

# The local server, trusting local connections; TEST_POSTGRES_URL names another.
SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def admin(dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True, connect_timeout=5)


@contextmanager
def test_database() -> Iterator[str]:
    """A new database for this run; its name. Dropped at the end, with whatever is left
    connected to it."""
    name = f"alertd_test_{secrets.token_hex(6)}"
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def test_schema(database: str) -> Iterator[str]:
    """A new, empty schema in `database`; the URL of a store that lives in it."""
    schema = f"test_{secrets.token_hex(6)}"
    with admin(database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{SERVER}/{database}?options={quote(f'-c search_path={schema}')}"
    finally:
        with admin(database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def terminate_backends(database: str) -> int:
    """Drop every connection to `database` but this one, as an operator's
    `pg_terminate_backend` (or a server restart) would; how many were dropped."""
    with admin() as conn:
        cursor = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid != pg_backend_pid()",
            (database,),
        )
        row = cursor.fetchone()
        return int(str(row[0])) if row else 0


def allow_connections(database: str, allowed: bool) -> None:
    """Let clients connect to `database`, or refuse every new connection, as a server
    that is down (or restarting) refuses them."""
    with admin() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(database), sql.Literal(allowed)
            )
        )


def terminate_process_backends(database: str, pid: int) -> int:
    """Drop the connections one alertd process (by its pid) holds to `database`, as an
    operator's `pg_terminate_backend` would; how many were dropped."""
    with admin() as conn:
        cursor = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            (database, f"alertd pid {pid}"),
        )
        row = cursor.fetchone()
        return int(str(row[0])) if row else 0
