"""The reviewers' site in a real browser (Debian's chromium, driven by Playwright): the national, a province
and a district page show the figures of the marts, the language switches, tables sort, no console errors,
both from the file system and from `cakupan docs serve`. Screenshots land in test-artifacts/."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cakupan.orchestration.dag_run import run_nightly

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parents[1] / "fixtures" / "small_night"
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
D = dt.date(2026, 11, 20)
CHROMIUM = shutil.which("chromium")


@pytest.fixture
def published_site(small_night, monkeypatch):
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(FIXTURE / "rubric.yml"))
    run = run_nightly(small_night, D)
    assert run.succeeded, run.failure_summary()
    return small_night.docs_dir


@pytest.fixture
def browser():
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed: `make test` installs it when run as root with apt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def open_page(browser, errors: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def test_reviewers_read_the_published_figures_in_a_browser(published_site, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = open_page(browser, errors)

    page.goto((published_site / "index.html").as_uri())
    assert page.locator("#published").inner_text() == "2026-11-20"
    # Sumatera Barat 9 + Riau 3 covered; only Sumatera Barat has an employed population: 9 / 153.000.
    assert page.locator("#national-covered").inner_text() == "12"
    assert page.locator("#national-rate").inner_text() == "0,01 %"
    ranking = page.locator("table.sortable").first
    assert "Sumatera Barat" in ranking.locator("tbody tr").first.inner_text()
    assert "100,00" in ranking.locator("tbody tr").first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "nasional.png"), full_page=True)

    page.locator("a", has_text="Sumatera Barat").first.click()
    assert page.url.endswith("provinsi/13.html")
    assert page.locator("#province-covered").inner_text() == "9"
    districts = page.locator("table.sortable").first.locator("tbody tr")
    assert districts.first.inner_text().startswith("Kota Sawahlunto")  # rank 1, score 50,81
    assert "50,81" in districts.first.inner_text() and "1 ★" in districts.first.inner_text()
    # Sorting by score ascending puts Agam (3,20) first, then the districts without a score last.
    page.locator("table.sortable").first.locator("th", has_text="Nilai").click()
    assert page.locator("table.sortable").first.locator("tbody tr").first.inner_text().startswith("Kabupaten Agam")
    page.screenshot(path=str(SCREENSHOTS / "provinsi-13.png"), full_page=True)

    page.goto((published_site / "kabupaten" / "13.73.html").as_uri())
    assert page.locator("#district-covered").inner_text() == "7"
    assert page.locator("h1 .lang-id").is_visible() and not page.locator("h1 .lang-en").is_visible()
    page.click("#lang")
    assert page.locator("h1 .lang-en").is_visible() and not page.locator("h1 .lang-id").is_visible()
    assert page.locator("text=Funding sources (active participations)").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "kabupaten-13.73-en.png"), full_page=True)

    page.goto((published_site / "indikator.html").as_uri())
    assert page.locator("text=small-night-1").first.is_visible()

    # The same site over HTTP, as `cakupan docs serve` gives it; the language chosen is remembered per site.
    server = served(_free_port())
    try:
        port = server.args[-1]
        page.goto(f"http://127.0.0.1:{port}/provinsi/13.html")
        assert page.locator("#province-covered").inner_text() == "9"
        assert page.locator("h1 .lang-id").is_visible()
        page.screenshot(path=str(SCREENSHOTS / "provinsi-13-served.png"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert errors == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def served(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "cakupan.cli", "docs", "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, text=True)
    assert "Serving" in server.stdout.readline()
    return server
