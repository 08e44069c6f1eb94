import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from alertd.cli import main
from alertd.clock import SystemClock
from alertd.model import SilenceRecord
from alertd.store.sqlite import SqliteStore
from alertd.store.state_lock import StateLock

FUTURE = "2099-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("USER", "ann")
    return tmp_path


def add(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict[str, Any]:
    """Add a silence through the CLI and return what `--json` printed."""
    assert main(["silence", "add", *arguments, "--json"]) == 0
    added: dict[str, Any] = json.loads(capsys.readouterr().out)
    return added


def listed(capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, Any]]:
    assert main(["silence", "list", "--json", *options]) == 0
    shown: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return shown


def stored(path: Path) -> list[SilenceRecord]:
    async def read() -> list[SilenceRecord]:
        store = await SqliteStore.open(path)
        try:
            return await store.silences(active_at=SystemClock().now())
        finally:
            await store.aclose()

    return anyio.run(read)


def test_an_added_silence_is_listed_as_active(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["silence", "add", 'team="db"', "--duration", "2h", "--comment", "migration"]) == 0
    added = capsys.readouterr().out
    silence_id = re.search(r"silence ([0-9a-f]{16}) active from ", added)
    assert silence_id is not None

    assert main(["silence", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["id", "state", "matchers", "starts", "ends", "author", "comment"]
    assert row.split()[:3] == [silence_id.group(1), "active", 'team="db"']
    assert row.split()[-2:] == ["ann", "migration"]


def test_the_daemon_finds_the_silence_in_its_state_file(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    added = add(capsys, "SlowQueryP95", "table=users", "--duration", "1h", "--comment", "known")

    [record] = stored(state_dir / "alertd.db")

    assert record.id == added["id"]
    assert record.matchers == ('alertname="SlowQueryP95"', 'table="users"')


def test_json_output_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    added = add(
        capsys, 'team="db"', "--start", FUTURE, "--duration", "90m",
        "--comment", "planned upgrade", "--author", "bob",
    )  # fmt: skip

    assert re.fullmatch(r"[0-9a-f]{16}", added.pop("id"))
    assert added == {
        "state": "pending",
        "matchers": ['team="db"'],
        "starts_at": "2099-01-01T00:00:00Z",
        "ends_at": "2099-01-01T01:30:00Z",
        "created_by": "bob",
        "comment": "planned upgrade",
    }
    [shown] = listed(capsys)
    assert {k: v for k, v in shown.items() if k != "id"} == added


def test_an_expired_silence_is_listed_only_with_all(capsys: pytest.CaptureFixture[str]) -> None:
    added = add(capsys, 'team="db"', "--duration", "2h", "--comment", "migration")

    assert main(["silence", "expire", added["id"]]) == 0
    assert capsys.readouterr().out.startswith(f"expired silence {added['id']}")

    assert listed(capsys) == []
    [shown] = listed(capsys, "--all")
    assert (shown["id"], shown["state"]) == (added["id"], "expired")
    assert main(["silence", "list", "--all"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == [added["id"], "expired"]


def test_a_pending_silence_that_is_expired_never_starts(capsys: pytest.CaptureFixture[str]) -> None:
    added = add(capsys, 'team="db"', "--start", FUTURE, "--duration", "1h", "--comment", "later")

    assert main(["silence", "expire", added["id"]]) == 0
    capsys.readouterr()

    [shown] = listed(capsys, "--all")
    assert shown["state"] == "expired"
    assert shown["starts_at"] == shown["ends_at"]


def test_expiring_an_unknown_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    add(capsys, 'team="db"', "--duration", "2h", "--comment", "migration")

    assert main(["silence", "expire", "0123456789abcdef"]) == 1
    assert "no silence '0123456789abcdef'" in capsys.readouterr().err


def test_a_matcher_that_does_not_parse_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["silence", "add", 'team="db"', 'table=~"("', "--duration", "1h", "--comment", "x"])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("alertd silence add: matcher 'table=~\"(\"': invalid regex for table")
    assert listed(capsys, "--all") == []


@pytest.mark.parametrize("matcher", ['team=~".*"', 'team!="db"', 'alertname=""'])
def test_a_silence_matching_every_alert_is_refused(
    matcher: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["silence", "add", matcher, "--duration", "1h", "--comment", "x"]) == 2
    assert "would silence every alert" in capsys.readouterr().err
    assert listed(capsys, "--all") == []


@pytest.mark.parametrize(
    ("times", "named"),
    [
        (["--until", "2020-01-01T00:00:00Z"], "--until 2020-01-01T00:00:00Z is in the past"),
        (["--start", "2020-01-01", "--duration", "1h"], "--start 2020-01-01 is in the past"),
    ],
)
def test_times_in_the_past_are_refused(
    times: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["silence", "add", 'team="db"', *times, "--comment", "x"]) == 2
    assert named in capsys.readouterr().err
    assert listed(capsys, "--all") == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--duration", "soon"], "--duration: invalid duration 'soon'"),
        (["--until", "tomorrow"], "--until 'tomorrow' is not an ISO-8601 time"),
        (["--start", FUTURE, "--until", "2098-01-01"], "the end must come after the start"),
        (["--duration", "1h", "--comment", " "], "comment is empty"),
    ],
)
def test_other_bad_arguments_exit_2_saying_which(
    arguments: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    comment = [] if "--comment" in arguments else ["--comment", "x"]
    assert main(["silence", "add", 'team="db"', *arguments, *comment]) == 2
    assert named in capsys.readouterr().err


def test_the_author_defaults_to_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    added = add(capsys, 'team="db"', "--duration", "1h", "--comment", "x")

    assert added["created_by"] == "ann"
    ends = dt.datetime.fromisoformat(added["ends_at"].replace("Z", "+00:00"))
    starts = dt.datetime.fromisoformat(added["starts_at"].replace("Z", "+00:00"))
    assert ends - starts == dt.timedelta(hours=1)


def test_listing_without_a_state_file_creates_none(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert listed(capsys) == []
    assert not (state_dir / "alertd.db").exists()


def test_silences_are_added_and_expired_while_a_daemon_holds_the_state_directory(
    capsys: pytest.CaptureFixture[str], state_dir: Path
) -> None:
    daemon = StateLock.acquire(state_dir)  # what a running `alertd run` holds
    try:
        added = add(capsys, 'team="db"', "--duration", "2h", "--comment", "beside the daemon")
        assert [s["id"] for s in listed(capsys)] == [added["id"]]
        assert main(["silence", "expire", added["id"]]) == 0
        assert capsys.readouterr().out.startswith(f"expired silence {added['id']}")
        assert listed(capsys) == []
    finally:
        daemon.release()


def test_silences_live_in_postgresql_when_the_state_url_names_it(
    pg_url: str,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALERTD_STATE_URL", pg_url)
    added = add(capsys, "SlowQueryP95", "--duration", "1h", "--comment", "known")

    assert [s["id"] for s in listed(capsys)] == [added["id"]]
    assert main(["silence", "expire", added["id"]]) == 0
    assert f"expired silence {added['id']}" in capsys.readouterr().out
    assert listed(capsys) == []
    assert not (state_dir / "alertd.db").exists()
