"""The emulator over real HTTP, answering as AE's SQL API does."""

import datetime as dt
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertd.clock import FakeClock
from alertd.emulator.app import create_app
from alertd.emulator.server import RunningEmulator, running_emulator
from alertd.emulator.storage import ChdbStorage
from alertd.sources import ae_rows
from tests.emulator.conftest import TOKEN

REPOSITORY = Path(__file__).resolve().parents[2]


def sql_json(emulator: RunningEmulator, sql: str) -> dict[str, Any]:
    response = emulator.query(sql)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def post_sql(emulator: RunningEmulator, sql: str, **headers: str) -> httpx.Response:
    return httpx.post(emulator.sql_url, content=sql.encode(), headers=headers)


def run_python(script: str, **env: str) -> str:
    """Run `script` in a fresh interpreter, as a restart or another machine would."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPOSITORY,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_request_without_a_bearer_token_is_refused_with_403(emulator: RunningEmulator) -> None:
    response = post_sql(emulator, "SELECT 1 AS one")
    assert response.status_code == 403
    assert response.text == "Authorization error"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-query-id"]


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Basic {TOKEN}", "Bearer", TOKEN])
def test_a_wrong_authorization_header_is_refused_with_403(
    emulator: RunningEmulator, header: str
) -> None:
    response = post_sql(emulator, "SELECT 1 AS one", Authorization=header)
    assert (response.status_code, response.text) == (403, "Authorization error")


def test_without_a_configured_token_any_bearer_is_accepted() -> None:
    with running_emulator(token=None) as open_emulator:
        accepted = post_sql(open_emulator, "SELECT 1 AS one", Authorization="Bearer anything")
        refused = post_sql(open_emulator, "SELECT 1 AS one")
    assert accepted.status_code == 200
    assert refused.status_code == 403


def test_an_empty_body_is_refused_with_400(emulator: RunningEmulator) -> None:
    response = post_sql(emulator, "  \n", Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 400
    assert response.text.startswith("Content type error")
    assert response.headers["x-query-id"]


def test_a_get_with_the_query_parameter_is_answered(emulator: RunningEmulator) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answered = httpx.get(
        emulator.sql_url, params={"query": "SELECT 7 AS n FORMAT JSON"}, headers=auth
    )
    missing = httpx.get(emulator.sql_url, headers=auth)
    assert answered.json()["data"] == [{"n": 7}]
    assert (missing.status_code, missing.text) == (400, "Query string error: missing field `query`")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT blob1 FROM hits JOIN other ON 1", "Input was invalid: JOINs are not supported"),
        ("SELECT blob1 FROM hits UNION ALL SELECT blob1 FROM hits", "UNION is not supported"),
        (
            "SELECT CASE WHEN double1 > 1 THEN 1 ELSE 0 END AS v FROM hits",
            "Input was invalid: unsupported expression type: CASE",
        ),
        ("SELECT COUNT(*) AS n FROM hits", "COUNT(*) is not supported"),
        ("SELECT multiIf(double1 > 1, 1, 0) AS v FROM hits", "unknown function call: MULTIIF"),
        ("SELECT nope FROM hits", "Input was invalid: cannot select unknown column: nope"),
        ("SELECT blob1 FROM missing_dataset", "Input was invalid: unknown table: missing_dataset"),
        (
            "SELECT avgIf(double1, blob1 = 'GET') AS v FROM hits",
            "the 2nd and 3rd arguments to IF() function must have the same type",
        ),
        ("SELECT blob1, sum(double1) AS s FROM hits", "Input was invalid: Column"),
        ("SELECT 'a' + 1 AS v", "Input was invalid: Illegal types String and UInt8"),
        ("SELECT (blob1 FROM hits", "Input was invalid: syntax error at position"),
        ("SELECT 1 AS one; SELECT 2 AS two", "only one statement per request"),
        (
            "SELECT count() AS n FROM hits WHERE timestamp > now() - INTERVAL '1' WEEK",
            "Input was invalid: unsupported interval unit: WEEK",
        ),
        (
            "SELECT blob1 AS b, count() AS n FROM hits GROUP BY GROUPING SETS ((b), ())",
            "Input was invalid: GROUPING SETS is not supported",
        ),
        (
            "SELECT count() AS n FROM hits WHERE blob1 GLOBAL IN ('GET')",
            "Input was invalid: GLOBAL IN is not supported",
        ),
        (
            "SELECT count() AS n FROM hits WHERE blob1 LIKE 'G!%' ESCAPE '!'",
            "Input was invalid: unsupported operator: ESCAPE",
        ),
    ],
)
def test_a_bad_query_is_answered_422_in_plain_text_never_500(
    empty_emulator: RunningEmulator, sql: str, message: str
) -> None:
    empty_emulator.write("hits", [{"blobs": ["GET"], "doubles": [1.0]}])
    response = empty_emulator.query(sql)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-query-id"]


def test_a_clickhouse_error_message_does_not_echo_the_internal_database(
    empty_emulator: RunningEmulator,
) -> None:
    empty_emulator.write("hits", [{}])
    response = empty_emulator.query("SELECT blob1, sum(double1) AS s FROM hits")
    assert "ae_" not in response.text
    assert "In query" not in response.text


def test_json_answers_have_aes_shape(empty_emulator: RunningEmulator) -> None:
    empty_emulator.write("hits", [{"timestamp": "2026-11-28T09:00:00Z", "blobs": ["GET"]}])
    answer = sql_json(
        empty_emulator,
        "SELECT timestamp, blob1 AS method, count() AS n FROM hits "
        "GROUP BY timestamp, method FORMAT JSON",
    )
    assert answer == {
        "meta": [
            {"name": "timestamp", "type": "DateTime"},
            {"name": "method", "type": "String"},
            {"name": "n", "type": "UInt64"},
        ],
        "data": [{"timestamp": "2026-11-28 09:00:00", "method": "GET", "n": "1"}],
        "rows": 1,
    }


def test_a_limited_json_answer_keeps_rows_before_limit(empty_emulator: RunningEmulator) -> None:
    empty_emulator.write("hits", [{"blobs": [str(i)]} for i in range(5)])
    answer = sql_json(empty_emulator, "SELECT blob1 AS b FROM hits ORDER BY b LIMIT 2 FORMAT JSON")
    assert answer["rows"] == 2
    assert answer["rows_before_limit_at_least"] == 5
    assert "statistics" not in answer


def test_64_bit_numbers_arrive_as_strings_and_narrower_ones_as_numbers(
    empty_emulator: RunningEmulator,
) -> None:
    empty_emulator.write("hits", [{"sample_interval": 3}, {"sample_interval": 4}])
    answer = sql_json(
        empty_emulator,
        "SELECT count() AS n, sum(_sample_interval) AS events, "
        "max(_sample_interval) AS widest, sum(_sample_interval * 0.5) AS half "
        "FROM hits FORMAT JSON",
    )
    assert answer["data"] == [{"n": "2", "events": "7", "widest": 4, "half": "3.5"}]
    assert [c["type"] for c in answer["meta"]] == ["UInt64", "UInt64", "UInt32", "Float64"]


def test_float64_values_arrive_as_strings_that_name_non_finite_numbers(
    emulator: RunningEmulator,
) -> None:
    answer = sql_json(
        emulator,
        "SELECT 0.1 + 0.2 AS sum, 1 / 0 AS up, -1 / 0 AS down, 0 / 0 AS nothing FORMAT JSON",
    )
    (row,) = answer["data"]
    assert (row["sum"], row["up"], row["down"]) == ("0.30000000000000004", "inf", "-inf")
    assert row["nothing"] in ("nan", "-nan")


def test_float64_answers_parse_through_alertds_client(emulator: RunningEmulator) -> None:
    response = emulator.query(
        "SELECT 2.5 AS x, 1 / 0 AS up, 0 / 0 AS nothing, count() AS n FORMAT JSON"
    )
    (row,) = ae_rows.parse(response.content).data
    assert (row["x"], row["up"], row["n"]) == (2.5, math.inf, 1)
    assert math.isnan(row["nothing"])


def test_every_column_of_a_point_is_stored(empty_emulator: RunningEmulator) -> None:
    written = empty_emulator.write(
        "hits",
        [
            {
                "timestamp": "2026-11-28T09:00:00Z",
                "indexes": ["tenant"],
                "blobs": [f"b{i}" for i in range(1, 21)],
                "doubles": [float(i) for i in range(1, 21)],
                "sample_interval": 100,
            }
        ],
    )
    assert (written.written, written.dropped) == (1, 0)
    (row,) = sql_json(empty_emulator, "SELECT * FROM hits FORMAT JSON")["data"]
    assert row["dataset"] == "hits"
    assert row["index1"] == "tenant"
    assert row["_sample_interval"] == 100
    assert [row[f"blob{i}"] for i in range(1, 21)] == [f"b{i}" for i in range(1, 21)]
    assert [row[f"double{i}"] for i in range(1, 21)] == [str(i) for i in range(1, 21)]


def test_epoch_millisecond_and_iso_timestamps_land_on_the_same_utc_second(
    empty_emulator: RunningEmulator,
) -> None:
    at = dt.datetime(2026, 11, 28, 9, 30, 15, tzinfo=dt.UTC)
    empty_emulator.write(
        "hits",
        [
            {"timestamp": int(at.timestamp() * 1000), "blobs": ["ms"]},
            {"timestamp": "2026-11-28T09:30:15Z", "blobs": ["iso-z"]},
            {"timestamp": "2026-11-28T10:30:15+01:00", "blobs": ["iso-offset"]},
            {"timestamp": at, "blobs": ["datetime"]},
        ],
    )
    answer = sql_json(
        empty_emulator,
        "SELECT blob1 AS how, timestamp AS t, toUnixTimestamp(timestamp) AS u "
        "FROM hits ORDER BY how FORMAT JSON",
    )
    assert {(r["t"], r["u"]) for r in answer["data"]} == {
        ("2026-11-28 09:30:15", int(at.timestamp()))
    }
    assert len(answer["data"]) == 4


def test_a_point_without_timestamp_takes_the_emulator_clock() -> None:
    clock = FakeClock(dt.datetime(2026, 11, 28, 10, 0, 5, tzinfo=dt.UTC))
    with running_emulator(clock=clock) as clocked:
        clocked.write("hits", [{"blobs": ["now"]}])
        clock.advance(60)
        clocked.write("hits", [{"blobs": ["later"]}])
        answer = sql_json(
            clocked, "SELECT blob1 AS b, timestamp AS t FROM hits ORDER BY t FORMAT JSON"
        )
    assert answer["data"] == [
        {"b": "now", "t": "2026-11-28 10:00:05"},
        {"b": "later", "t": "2026-11-28 10:01:05"},
    ]


def test_two_emulators_in_one_process_keep_their_datasets_apart(
    empty_emulator: RunningEmulator,
) -> None:
    with running_emulator() as other:
        other.write("only_in_other", [{}])
        listed_by_other = other.query("SHOW TABLES").text
    assert "only_in_other" in listed_by_other
    assert "only_in_other" not in empty_emulator.query("SHOW TABLES").text


def test_json_lines_are_written_like_an_array(empty_emulator: RunningEmulator) -> None:
    lines = "\n".join(json.dumps({"blobs": [b], "doubles": [1]}) for b in "abc")
    response = httpx.post(f"{empty_emulator.root_url}/emulator/write/hits", content=lines)
    assert response.json() == {"written": 3, "dropped": 0}
    answer = sql_json(empty_emulator, "SELECT blob1 AS b FROM hits ORDER BY b FORMAT JSON")
    assert [r["b"] for r in answer["data"]] == ["a", "b", "c"]


def test_a_point_with_several_indexes_is_dropped_and_counted(
    empty_emulator: RunningEmulator,
) -> None:
    written = empty_emulator.write(
        "hits", [{"indexes": ["a"]}, {"indexes": ["a", "b"]}, {"indexes": ["c"]}]
    )
    assert (written.written, written.dropped) == (2, 1)
    answer = sql_json(empty_emulator, "SELECT index1 AS i FROM hits ORDER BY i FORMAT JSON")
    assert [r["i"] for r in answer["data"]] == ["a", "c"]


def test_a_bad_point_is_refused_with_400_naming_it(empty_emulator: RunningEmulator) -> None:
    response = httpx.post(
        f"{empty_emulator.root_url}/emulator/write/hits", json=[{}, {"doubles": ["x"]}]
    )
    assert response.status_code == 400
    assert response.text == "point 2: doubles[0]: must be a finite number"
    assert "hits" not in empty_emulator.query("SHOW TABLES").text


@pytest.mark.parametrize("name", ["1abc", "has-dash", "a" * 65])
def test_a_bad_dataset_name_is_refused_with_400(empty_emulator: RunningEmulator, name: str) -> None:
    response = httpx.post(f"{empty_emulator.root_url}/emulator/write/{name}", json=[{}])
    assert response.status_code == 400


def test_without_format_the_answer_is_json_lines(empty_emulator: RunningEmulator) -> None:
    empty_emulator.write("hits", [{"blobs": ["a"]}, {"blobs": ["b"]}])
    response = empty_emulator.query("SELECT blob1 AS b FROM hits ORDER BY b")
    assert response.status_code == 200
    assert [json.loads(line) for line in response.text.splitlines()] == [{"b": "a"}, {"b": "b"}]


def test_tab_separated_answers_have_no_header(empty_emulator: RunningEmulator) -> None:
    empty_emulator.write("hits", [{"blobs": ["a"], "doubles": [1.5]}])
    response = empty_emulator.query("SELECT blob1, double1 FROM hits FORMAT TabSeparated")
    assert response.text == "a\t1.5\n"


def test_show_tables_lists_the_datasets_and_reset_drops_them(
    empty_emulator: RunningEmulator,
) -> None:
    empty_emulator.write("beta", [{}])
    empty_emulator.write("alpha", [{}])
    listed = sql_json(empty_emulator, "SHOW TABLES FORMAT JSON")
    assert listed["data"] == [{"dataset": "alpha"}, {"dataset": "beta"}]
    empty_emulator.reset()
    assert sql_json(empty_emulator, "SHOW TABLES FORMAT JSON")["data"] == []


def test_show_timezone_answers_etc_utc(emulator: RunningEmulator) -> None:
    answer = sql_json(emulator, "SHOW TIMEZONE FORMAT JSON")
    assert answer["meta"] == [{"name": "timezone", "type": "String"}]
    assert answer["data"] == [{"timezone": "Etc/UTC"}]


def test_show_timezones_lists_the_zones_times_may_be_read_in(emulator: RunningEmulator) -> None:
    answer = sql_json(emulator, "show timezones FORMAT JSON")
    zones = [row["timezone"] for row in answer["data"]]
    assert {"Etc/UTC", "UTC", "Europe/Paris", "America/New_York"} <= set(zones)
    assert zones == sorted(zones)
    assert emulator.query("SHOW TIMEZONES").status_code == 200  # JSON lines by default


def test_every_answer_has_its_own_query_id(empty_emulator: RunningEmulator) -> None:
    ids = {empty_emulator.query("SELECT 1 AS one").headers["x-query-id"] for _ in range(3)}
    assert len(ids) == 3


def test_documented_functions_behave_as_ae_documents_them(empty_emulator: RunningEmulator) -> None:
    # 2026-11-26 is a Thursday; AE's weeks start on Monday 2026-11-23.
    empty_emulator.write(
        "hits",
        [
            {"timestamp": "2026-11-26T12:00:00Z", "blobs": ["héllo"], "doubles": [10]},
            {"timestamp": "2026-11-26T12:00:00Z", "blobs": ["héllo"], "doubles": [20]},
        ],
    )
    answer = sql_json(
        empty_emulator,
        "SELECT TOSTARTOFWEEK(timestamp) AS week, Length(blob1) AS chars, "
        "toUpper(blob1) AS loud, isEmpty(blob1) AS blank, "
        "quantileWeighted(0.5, double1, _sample_interval) AS median, "
        "QUANTILEEXACTWEIGHTED(0.5)(double1, _sample_interval) AS median2 "
        "FROM hits GROUP BY week, chars, loud, blank LIMIT ALL FORMAT JSON",
    )
    assert answer["data"] == [
        {
            "week": "2026-11-23",
            "chars": "5",
            "loud": "HÉLLO",
            "blank": 0,
            "median": "10",
            "median2": "10",
        }
    ]


def test_the_reference_example_queries_run(empty_emulator: RunningEmulator) -> None:
    from tests.emulator.test_dialect import REFERENCE_QUERIES

    empty_emulator.write(
        "my_dataset",
        [
            {"indexes": ["t"], "blobs": ["svc", "/a", "HIT"], "doubles": [5, 500, 100]},
            {"indexes": ["t"], "blobs": ["svc", "/a", "MISS"], "doubles": [7, 200, 50]},
        ],
    )
    for sql in REFERENCE_QUERIES:
        response = empty_emulator.query(sql)
        assert response.status_code == 200, (sql, response.text)


def test_times_are_utc_whatever_the_machines_time_zone() -> None:
    # 2026-03-08 02:30 does not exist in New York (clocks jump from 02:00 to 03:00).
    output = run_python(
        """
        import datetime as dt, json
        from alertd.clock import FakeClock
        from alertd.logging import configure
        from alertd.emulator.server import running_emulator

        configure()
        clock = FakeClock(dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.UTC))
        with running_emulator(clock=clock) as emulator:
            emulator.write("t", [
                {"blobs": ["clock"]},
                {"timestamp": "2026-03-08T02:30:00", "blobs": ["naive"]},
                {"timestamp": 1772937000000, "blobs": ["ms"]},
            ])
            answer = emulator.query(
                "SELECT blob1 AS b, timestamp AS t, toHour(timestamp) AS h, "
                "toUnixTimestamp(timestamp) AS u, "
                "toUnixTimestamp(toDateTime('2026-03-08 02:30:00')) AS literal "
                "FROM t ORDER BY b FORMAT JSON"
            )
            print(json.dumps(answer.json()["data"]))
        """,
        TZ="America/New_York",
    )
    expected = {"t": "2026-03-08 02:30:00", "h": 2, "u": 1772937000, "literal": 1772937000}
    assert json.loads(output) == [{"b": b, **expected} for b in ("clock", "ms", "naive")]


def test_datasets_survive_a_restart_with_a_data_directory(tmp_path: Path) -> None:
    start = """
        import json
        from alertd.logging import configure
        from alertd.emulator.server import running_emulator

        configure()
        with running_emulator(data_dir={data_dir!r}) as emulator:
            {body}
        """
    write = "emulator.write('kept', [{'sample_interval': 5, 'blobs': ['x']}, {}])"
    read = (
        "print(json.dumps([emulator.query('SELECT count() AS n, sum(_sample_interval) AS s "
        "FROM kept FORMAT JSON').json()['data'], emulator.query('SHOW TABLES').text]))"
    )
    run_python(start.format(data_dir=str(tmp_path), body=write))
    output = run_python(start.format(data_dir=str(tmp_path), body=read))
    assert json.loads(output) == [[{"n": "2", "s": "6"}], '{"dataset":"kept"}\n']


def test_the_port_is_released_when_the_block_ends() -> None:
    with running_emulator() as temporary:
        health = f"{temporary.root_url}/emulator/health"
        assert httpx.get(health).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(health)


def test_the_emulator_refuses_to_listen_beyond_loopback() -> None:
    from alertd.emulator.server import StartupError, serve

    with pytest.raises(StartupError, match="loopback"):
        serve(host="0.0.0.0", port=0)


class FailsMidAnswer(ChdbStorage):
    """ClickHouse failing after it began to write rows: the JSON breaks off in its error."""

    def __init__(self) -> None:
        self._database = "ae_test"  # no engine: the answer below is all there is

    def query(self, sql: str, fmt: str) -> bytes:
        return (
            b'{"meta": [{"name": "b", "type": "String"}], "data": [{"b": "x"},\n'
            b"Code: 153. DB::Exception: Division by zero. (ILLEGAL_DIVISION)"
        )


@pytest.mark.anyio
async def test_an_error_in_the_middle_of_an_answer_is_a_422_not_a_500() -> None:
    app = create_app(FailsMidAnswer(), token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        response = await client.post(
            "/client/v4/accounts/acc/analytics_engine/sql",
            content=b"SELECT blob1 AS b FROM hits FORMAT JSON",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 422, response.text
    assert response.text == "Input was invalid: Division by zero."
