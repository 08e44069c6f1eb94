"""The status page and each alert's page, rendered from a store holding a demo-like moment."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
from starlette.applications import Starlette

from alertd.clock import FakeClock
from alertd.model import AlertState, SeriesPoint, Severity, Status
from alertd.server.silence_forms import local_path
from alertd.server.status_page import status_routes
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from tests.server.emulated import shipped_rules
from tests.server.scenario import (
    API,
    AT,
    FAILED,
    INHIBIT_RULES,
    SILENCE_ID,
    SLOW,
    STEP,
    Scenario,
    stored,
)

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token"
SVG = "{http://www.w3.org/2000/svg}"


class Page:
    def __init__(
        self,
        client: httpx.AsyncClient,
        store: MemoryStore,
        made: Scenario,
        states: dict[str, AlertState],
    ) -> None:
        self.client = client
        self.store = store
        self.made = made
        self.states = states  # what the evaluator holds now; a test may change it

    async def html(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/html")
        return response.text


async def serve(
    token: str | None, errors: Mapping[str, str] | None = None, max_rows: int = 500
) -> AsyncIterator[Page]:
    store = MemoryStore()
    made = await stored(store)
    states: dict[str, AlertState] = dict(made.states)
    rules = shipped_rules()
    routes = status_routes(
        store=store,
        states=lambda: states,
        ruleset=lambda: rules,
        clock=FakeClock(AT),
        api_token=token,
        inhibit_rules=lambda: INHIBIT_RULES,
        rule_errors=lambda: errors or {},
        max_alert_rows=max_rows,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://status") as client:
        yield Page(client, store, made, states)


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async for served in serve(TOKEN, {"ApplicationErrorRate": "Input was invalid: <bad>"}):
        yield served


@pytest.fixture
async def read_only() -> AsyncIterator[Page]:
    async for served in serve(None):
        yield served


def row(html: str, fingerprint: str) -> str:
    found = re.search(
        rf'<tr class="alert-row" data-fingerprint="{fingerprint}">(.*?)</tr>', html, re.S
    )
    assert found, f"no row for {fingerprint}"
    return found.group(1)


async def test_firing_alert_shows_value_against_threshold_in_its_unit(page: Page) -> None:
    html = await page.html("/")
    slow = row(html, SLOW)
    assert "firing" in slow
    assert "critical" in slow
    assert "212.35 ms" in slow
    assert "&gt; 200 ms" in slow  # the critical threshold, in the rule's unit
    assert "table=users" in slow
    assert "team=database" in slow
    assert "12m ago" in slow
    assert f'href="/alerts/{SLOW}"' in slow
    assert "sent" in slow  # nothing mutes it


async def test_firing_alerts_come_before_pending_ones(page: Page) -> None:
    html = await page.html("/")
    order = [m.group(1) for m in re.finditer(r'data-fingerprint="(\w+)"', html)]
    assert order == [SLOW, FAILED, API]  # critical, warning, then the pending one


async def test_a_storm_lists_the_first_alerts_and_counts_the_rest() -> None:
    async for served in serve(TOKEN, max_rows=2):
        html = await served.html("/")
        assert re.findall(r'data-fingerprint="(\w+)"', html) == [SLOW, FAILED]
        assert "2 firing, 1 pending" in html
        assert "1 more alerts are not listed here" in html
        assert "muted: inhibited by SlowQueryP95" in row(html, FAILED)


async def test_muted_alerts_say_why(page: Page) -> None:
    html = await page.html("/")
    api = row(html, API)
    assert f"muted: silenced by {SILENCE_ID}" in api
    assert "ana: deploy in progress &lt;b&gt;not bold&lt;/b&gt;" in api
    failed = row(html, FAILED)
    assert "muted: inhibited by SlowQueryP95" in failed
    # Thresholds in percent make the rule's unit percent.
    assert "<td>2.34 %</td>" in failed
    assert "<td>&gt; 1 %</td>" in failed


async def test_every_alert_has_a_silence_button_prefilled_with_its_labels(page: Page) -> None:
    html = await page.html("/")
    button = re.search(
        r'<a class="button" href="(/silences/new\?[^"]+)">silence</a>', row(html, SLOW)
    )
    assert button
    form = await page.html(button.group(1).replace("&amp;", "&"))
    assert (
        'value="alertname=&#34;SlowQueryP95&#34;, table=&#34;users&#34;, team=&#34;database&#34;"'
        in form
    )
    assert f'name="next" value="/alerts/{SLOW}"' in form


async def test_rule_health_lists_every_rule_and_the_failing_one(page: Page) -> None:
    html = await page.html("/")
    rules = html[html.index('<table id="rules">') :]
    for rule in shipped_rules().rules:
        assert f"<td>{rule.name}</td>" in rules
    assert "failing: Input was invalid: &lt;bad&gt;" in rules
    assert "1 firing" in rules


async def test_page_refreshes_itself_and_needs_no_script_or_outside_asset(page: Page) -> None:
    html = await page.html("/")
    assert '<meta http-equiv="refresh" content="30">' in html
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


async def test_active_silences_are_listed_with_an_expire_button(page: Page) -> None:
    html = await page.html("/")
    assert "alertname=&#34;ApiResponseP95&#34;" in html
    assert f'href="/silences/{SILENCE_ID}/expire"' in html


def chart_of(html: str) -> ET.Element:
    svg = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    return ET.fromstring(svg)


async def test_alert_page_charts_values_against_thresholds_with_transitions(page: Page) -> None:
    html = await page.html(f"/alerts/{SLOW}")
    assert "212.35 ms (threshold &gt; 200 ms)" in html
    assert "<code>p95(duration)</code> over 5m by table" in html
    svg = chart_of(html)
    lines = {line.get("class"): line for line in svg.iter(f"{SVG}line") if line.get("class")}
    warning, critical = lines["threshold threshold-warning"], lines["threshold threshold-critical"]
    assert float(critical.get("y1", "0")) < float(warning.get("y1", "0"))  # higher is up
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert "warning &gt; 150 ms".replace("&gt;", ">") in labels
    assert "critical > 200 ms" in labels
    for change in ("pending", "firing", "escalated"):
        assert f"transition transition-{change}" in lines
    # The tick without data splits the line in two; every other point is drawn.
    series = [p.get("points", "").split() for p in svg.iter(f"{SVG}polyline")]
    assert [len(points) for points in series] == [10, 49]
    # The last value, 212.35, lies above the critical line; the first, 100, below warning.
    last_y = float(series[-1][-1].split(",")[1])
    first_y = float(series[0][0].split(",")[1])
    assert last_y < float(critical.get("y1", "0")) < float(warning.get("y1", "0")) < first_y
    # The escalation was 5 minutes before the last point, 25 after the first.
    first_x, last_x = float(series[0][0].split(",")[0]), float(series[-1][-1].split(",")[0])
    escalated = float(lines["transition transition-escalated"].get("x1", "0"))
    assert escalated == pytest.approx(first_x + (last_x - first_x) * (24.5 / 29.5), abs=0.2)


async def test_alert_page_lists_transitions_newest_first(page: Page) -> None:
    html = await page.html(f"/alerts/{SLOW}")
    table = html[html.index('<table id="transitions">') :]
    changes = re.findall(r"<td>(pending|firing|escalated)</td>", table)
    assert changes == ["escalated", "firing", "pending"]
    assert "203 ms" in table


async def test_alert_page_of_a_muted_alert_says_why(page: Page) -> None:
    html = await page.html(f"/alerts/{API}")
    assert f"muted: silenced by {SILENCE_ID}" in html
    assert "no values stored yet" in html


async def test_unknown_alert_is_a_404(page: Page) -> None:
    html = await page.html("/alerts/ffffffffffffffff", status=404)
    assert "No such alert" in html


async def test_silence_created_through_the_form_mutes_the_alert(page: Page) -> None:
    response = await page.client.post(
        "/silences",
        data={
            "matchers": 'alertname="SlowQueryP95", table="users"',
            "duration": "1h",
            "created_by": "bo",
            "comment": "looking into it",
            "token": TOKEN,
            "next": f"/alerts/{SLOW}",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/alerts/{SLOW}"
    made = [s for s in await page.store.silences() if s.created_by == "bo"]
    assert len(made) == 1
    assert made[0].matchers == ('alertname="SlowQueryP95"', 'table="users"')
    assert made[0].starts_at == AT
    assert made[0].ends_at == AT + dt.timedelta(hours=1)
    html = await page.html(f"/alerts/{SLOW}")
    assert f"muted: silenced by {made[0].id}" in html
    # With its critical source silenced... the inhibition still holds: Alertmanager
    # inhibits by firing alerts, silenced or not.
    assert "muted: inhibited by SlowQueryP95" in row(await page.html("/"), FAILED)


async def test_a_wrong_token_changes_nothing(page: Page) -> None:
    before = await page.store.silences()
    response = await page.client.post(
        "/silences",
        data={
            "matchers": 'alertname="X"',
            "duration": "1h",
            "created_by": "bo",
            "comment": "c",
            "token": "guess",
        },
    )
    assert response.status_code == 403
    assert "the API token is wrong" in response.text
    assert 'value="alertname=&#34;X&#34;"' in response.text  # the form keeps what was typed
    assert await page.store.silences() == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"matchers": 'alertname="X', "duration": "1h"}, "matchers:"),
        ({"matchers": 'alertname="X"', "duration": "soon"}, "duration:"),
        ({"matchers": 'alertname=~".*"', "duration": "1h"}, "would silence every alert"),
        ({"matchers": 'alertname="X"', "duration": "1h", "comment": " "}, "comment is empty"),
    ],
)
async def test_a_bad_silence_is_refused_saying_why(
    page: Page, fields: dict[str, str], message: str
) -> None:
    data = {"created_by": "bo", "comment": "c", "token": TOKEN, **fields}
    response = await page.client.post("/silences", data=data)
    assert response.status_code == 400
    assert message in response.text
    assert len(await page.store.silences()) == 1


async def test_after_a_change_the_form_goes_only_to_a_local_page(page: Page) -> None:
    response = await page.client.post(
        "/silences",
        data={
            "matchers": 'alertname="X"',
            "duration": "1h",
            "created_by": "bo",
            "comment": "c",
            "token": TOKEN,
            "next": "//evil.example/",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/alerts/abc", "/alerts/abc"),
        ("/#silences", "/#silences"),
        ("//evil.example/", "/"),
        ("/\t/evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("", "/"),
    ],
)
def test_only_paths_on_this_server_are_followed(given: str, kept: str) -> None:
    assert local_path(given) == kept


async def test_a_resolved_alert_keeps_its_page_from_its_history(page: Page) -> None:
    resolved = {k: v for k, v in page.made.states.items() if k != SLOW}
    page.states.clear()
    page.states.update(resolved)
    html = await page.html(f"/alerts/{SLOW}")
    assert "<h1>SlowQueryP95</h1>" in html
    assert ">inactive<" in html
    assert "polyline" in html
    assert "silence this alert" in html
    assert SLOW not in (await page.html("/")).split('<table id="rules">')[0]


async def test_a_series_known_only_by_its_history_still_has_a_chart(page: Page) -> None:
    points = tuple(SeriesPoint("00000000000000aa", AT - STEP * i, 1.0 + i, 5) for i in range(3))
    await page.store.commit(Commit(AT, "database", points=points))
    html = await page.html("/alerts/00000000000000aa")
    assert "polyline" in html
    assert "silence this alert" not in html


async def test_labels_and_values_are_escaped(page: Page) -> None:
    hostile = AlertState(
        "0000000000000001",
        "SlowQueryP95",
        (("table", '<img src=x onerror="alert(1)">'),),
        Status.FIRING,
        Severity.WARNING,
        active_since=AT,
        firing_since=AT,
        value=160.0,
    )
    page.states[hostile.fingerprint] = hostile
    for path in ("/", f"/alerts/{hostile.fingerprint}"):
        html = await page.html(path)
        assert "<img" not in html
        assert "table=&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


async def test_silence_expired_through_the_form_unmutes_the_alert(page: Page) -> None:
    form = await page.html(f"/silences/{SILENCE_ID}/expire")
    assert 'name="token"' in form
    response = await page.client.post(f"/silences/{SILENCE_ID}/expire", data={"token": TOKEN})
    assert response.status_code == 303
    (silence,) = await page.store.silences()
    assert silence.ends_at == AT
    html = await page.html("/")
    assert "muted" not in row(html, API)
    assert "No active silences." in html


async def test_expiring_an_unknown_silence_is_a_404(page: Page) -> None:
    response = await page.client.post("/silences/nope/expire", data={"token": TOKEN})
    assert response.status_code == 404


async def test_without_a_token_the_forms_say_changes_are_off(read_only: Page) -> None:
    html = await read_only.html("/")
    assert "Changes are off" in html
    assert "/expire" not in html
    form = await read_only.html("/silences/new")
    assert "Changes are off" in form
    assert "<form" not in form
    response = await read_only.client.post(
        "/silences",
        data={
            "matchers": 'alertname="X"',
            "duration": "1h",
            "created_by": "bo",
            "comment": "c",
            "token": "",
        },
    )
    assert response.status_code == 403
    response = await read_only.client.post(f"/silences/{SILENCE_ID}/expire", data={"token": ""})
    assert response.status_code == 403
    assert len(await read_only.store.silences()) == 1
    assert (await read_only.store.silences())[0].ends_at > AT
