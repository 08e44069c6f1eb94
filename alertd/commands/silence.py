"""`alertd silence`: add, list and expire silences in the state store the daemon reads.

The daemon reads the active silences from its store before every notification step, so a
silence written here takes effect at its next tick; SQLite's WAL lets both open the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import secrets
from collections.abc import Sequence
from typing import Any, TextIO

import anyio

from alertd.clock import Clock, SystemClock
from alertd.commands.arguments import UsageError, time_option
from alertd.commands.silence_remote import RemoteError, RemoteSilences
from alertd.errors import StoreError
from alertd.model import SilenceRecord
from alertd.notify.silences import (
    Silence,
    SilenceError,
    from_record,
    new_silence,
    parse_cli_matchers,
    to_record,
)
from alertd.rules.durations import parse_duration
from alertd.server.auth import read_token
from alertd.settings import Settings
from alertd.store.opening import open_store, state_location

# The file `alertd run` keeps its state in, inside ALERTD_STATE_DIR.
COLUMNS = ("id", "state", "matchers", "starts", "ends", "author", "comment")


def run(args: argparse.Namespace, out: TextIO, err: TextIO, clock: Clock | None = None) -> int:
    """Carry out `silence add|list|expire`: 0 done, 1 failed or unknown id, 2 bad usage."""
    settings = Settings()
    now = (clock or SystemClock()).now()
    if getattr(args, "url", None):
        return _remote(args, settings, now, out, err)
    try:
        if args.action == "add":
            return _add(args, settings, now, out, err)
        if args.action == "list":
            return _list(
                settings, now, show_expired=args.all, json_output=args.json, out=out, err=err
            )
        if args.action == "expire":
            return _expire(settings, args.id, now, out, err)
    except StoreError as exc:
        print(str(exc), file=err)
        return 1
    raise AssertionError(f"unhandled silence action {args.action}")


def _remote(
    args: argparse.Namespace, settings: Settings, now: dt.datetime, out: TextIO, err: TextIO
) -> int:
    """The action through the daemon at `--url` / ALERTD_URL, with ALERTD_API_TOKEN."""
    try:
        token = read_token(settings.api_token.get_secret_value(), settings.api_token_file)
    except ValueError as exc:
        print(f"alertd silence: {exc}", file=err)
        return 1
    remote = RemoteSilences(args.url, token)
    try:
        if args.action == "add":
            return _add(args, None, now, out, err, remote)
        if args.action == "list":
            shown = [s for s in remote.silences() if args.all or s.state(now) != "expired"]
            return _show(shown, now, show_expired=args.all, json_output=args.json, out=out)
        if args.action == "expire":
            before = remote.get(args.id)
            if before is None:
                print(f"no silence {args.id!r} at {args.url}", file=err)
                return 1
            remote.expire(args.id)
            return _expired(before, now, out)
    except RemoteError as exc:
        print(f"alertd silence: {exc}", file=err)
        return 1
    finally:
        remote.close()
    raise AssertionError(f"unhandled silence action {args.action}")


def requested(
    matchers: Sequence[str],
    *,
    duration: str | None,
    until: str | None,
    start: str | None,
    author: str,
    comment: str,
    now: dt.datetime,
) -> Silence:
    """The silence these arguments ask for at `now`; SilenceError or UsageError names the
    argument at fault."""
    try:
        parsed = parse_cli_matchers(matchers)
    except SilenceError as exc:
        raise SilenceError(f"matcher {exc}") from None
    starts_at = time_option("--start", start) if start is not None else now
    # A start already gone would record a window nobody asked for; leaving it out means now.
    if starts_at < now:
        raise SilenceError(f"--start {start} is in the past: leave --start out to start now")
    if until is not None:
        ends_at = time_option("--until", until)
        if ends_at <= now:
            raise SilenceError(f"--until {until} is in the past: a silence must end later")
    else:
        try:
            ends_at = starts_at + parse_duration(duration or "")
        except ValueError as exc:
            raise SilenceError(f"--duration: {exc}") from None
    return new_silence(secrets.token_hex(8), parsed, starts_at, ends_at, author, comment, now)


def as_json(silence: Silence, now: dt.datetime) -> dict[str, Any]:
    """A silence as `--json` prints it."""
    return {
        "id": silence.id,
        "state": silence.state(now),
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": _iso(silence.starts_at),
        "ends_at": _iso(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
    }


def _add(
    args: argparse.Namespace,
    settings: Settings | None,
    now: dt.datetime,
    out: TextIO,
    err: TextIO,
    remote: RemoteSilences | None = None,
) -> int:
    author = args.author or os.environ.get("USER") or "unknown"
    try:
        silence = requested(
            args.matchers,
            duration=args.duration,
            until=args.until,
            start=args.start,
            author=author,
            comment=args.comment,
            now=now,
        )
    except (SilenceError, UsageError) as exc:
        print(f"alertd silence add: {exc}", file=err)
        return 2
    if remote is not None:
        silence = dataclasses.replace(silence, id=remote.add(silence))
    else:
        assert settings is not None
        anyio.run(_store, settings, to_record(silence))
    if args.json:
        print(json.dumps(as_json(silence, now)), file=out)
    else:
        print(
            f"silence {silence.id} {silence.state(now)} from {_short(silence.starts_at)} "
            f"until {_short(silence.ends_at)}: {_matchers(silence)}",
            file=out,
        )
    return 0


def _list(
    settings: Settings,
    now: dt.datetime,
    *,
    show_expired: bool,
    json_output: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    # Listing must not create a store where the daemon keeps none (a wrong ALERTD_STATE_DIR).
    if _no_state_file(settings):
        print(f"no state store at {state_location(settings)}, so no silences", file=err)
        records: list[SilenceRecord] = []
    else:
        records = anyio.run(_read, settings)
    shown = [
        s for s in (from_record(r) for r in records) if show_expired or s.state(now) != "expired"
    ]
    return _show(shown, now, show_expired=show_expired, json_output=json_output, out=out)


def _show(
    shown: list[Silence], now: dt.datetime, *, show_expired: bool, json_output: bool, out: TextIO
) -> int:
    if json_output:
        print(json.dumps([as_json(s, now) for s in shown]), file=out)
    elif not shown:
        print("no silences" if show_expired else "no active or pending silences", file=out)
    else:
        _table([_row(s, now) for s in shown], out)
    return 0


def _expire(settings: Settings, silence_id: str, now: dt.datetime, out: TextIO, err: TextIO) -> int:
    where = state_location(settings)
    if _no_state_file(settings):
        print(f"no silence {silence_id!r}: there is no state store at {where}", file=err)
        return 1
    before = anyio.run(_expire_stored, settings, silence_id, now)
    if before is None:
        print(f"no silence {silence_id!r} in {where} (see alertd silence list --all)", file=err)
        return 1
    return _expired(from_record(before), now, out)


def _expired(silence: Silence, now: dt.datetime, out: TextIO) -> int:
    """Say what expiring `silence` (as it was before) did."""
    silence_id = silence.id
    if silence.state(now) == "expired":
        print(f"silence {silence_id} had already ended at {_short(silence.ends_at)}", file=out)
    else:
        print(f"expired silence {silence_id}: {_matchers(silence)}", file=out)
    return 0


def _no_state_file(settings: Settings) -> bool:
    """Whether the state is an SQLite file that does not exist (a database always does)."""
    return not settings.state_url.get_secret_value() and not settings.state_file.exists()


async def _store(settings: Settings, record: SilenceRecord) -> None:
    store = await open_store(settings)
    try:
        await store.add_silence(record)
    finally:
        await store.aclose()


async def _read(settings: Settings) -> list[SilenceRecord]:
    store = await open_store(settings)
    try:
        return await store.silences()
    finally:
        await store.aclose()


async def _expire_stored(
    settings: Settings, silence_id: str, at: dt.datetime
) -> SilenceRecord | None:
    """End the silence at `at`; the silence as it was before, or None when it is unknown."""
    store = await open_store(settings)
    try:
        before = next((r for r in await store.silences() if r.id == silence_id), None)
        if before is not None:
            await store.expire_silence(silence_id, at)
        return before
    finally:
        await store.aclose()


def _row(silence: Silence, now: dt.datetime) -> list[str]:
    return [
        silence.id,
        silence.state(now),
        _matchers(silence),
        _short(silence.starts_at),
        _short(silence.ends_at),
        silence.created_by,
        " ".join(silence.comment.split()),
    ]


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    for row in [list(COLUMNS), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)


def _matchers(silence: Silence) -> str:
    return ", ".join(str(m) for m in silence.matchers)


def _short(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
