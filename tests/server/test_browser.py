"""A real browser on the status page: headless Debian Chromium driven by Playwright.

It reads the firing alert and its chart, follows it to the alert's page, silences it through
the form and sees it marked silenced, all with JavaScript off. Screenshots go to
`test-artifacts/browser/` (ignored by git). Chromium comes from Debian's `chromium`
package (`.ci/run` installs it); Playwright never downloads a browser here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.server.scenario import SLOW
from tests.server.served import serving

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "browser"
TOKEN = "browser-token"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "install Debian's chromium package: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_firing_alert_is_followed_to_its_chart_and_silenced_from_the_browser(
    browser: Browser, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(tmp_path, TOKEN) as url:
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 1200, "height": 900}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(url + "/")
            row = page.locator(f'tr[data-fingerprint="{SLOW}"]')
            expect(row).to_contain_text("firing")
            expect(row).to_contain_text("212.35 ms")
            expect(row).to_contain_text("> 200 ms")
            expect(row).to_contain_text("sent")
            page.screenshot(path=str(ARTIFACTS / "1-status-page.png"), full_page=True)

            row.get_by_role("link", name="SlowQueryP95").click()
            expect(page).to_have_url(f"{url}/alerts/{SLOW}")
            chart = page.locator("svg.chart")
            expect(chart).to_be_visible()
            expect(chart.locator("polyline.series")).to_have_count(2)
            expect(chart.locator("line.threshold")).to_have_count(2)
            expect(chart.locator("line.transition")).to_have_count(3)
            page.screenshot(path=str(ARTIFACTS / "2-alert-page.png"), full_page=True)

            page.get_by_role("link", name="silence this alert").click()
            expect(page.locator("#matchers")).to_have_value(
                'alertname="SlowQueryP95", table="users", team="database"'
            )
            page.fill("#duration", "1h")
            page.fill("#created_by", "on-call")
            page.fill("#comment", "looking into the users table")
            page.fill("#token", TOKEN)
            page.screenshot(path=str(ARTIFACTS / "3-silence-form.png"), full_page=True)
            page.get_by_role("button", name="create silence").click()

            expect(page).to_have_url(f"{url}/alerts/{SLOW}")
            expect(page.locator("#summary")).to_contain_text(
                re.compile(
                    r"muted: silenced by [0-9a-f]{16} .*on-call: looking into the users table"
                )
            )
            page.screenshot(path=str(ARTIFACTS / "4-silenced.png"), full_page=True)

            page.goto(url + "/")
            expect(page.locator(f'tr[data-fingerprint="{SLOW}"]')).to_contain_text(
                "muted: silenced by"
            )
            expect(page.locator("#silences + table")).to_contain_text(
                "looking into the users table"
            )
            page.screenshot(path=str(ARTIFACTS / "5-status-silenced.png"), full_page=True)
        finally:
            context.close()
