"""End to end: `streamlit run app.py` on a free port, driven by Debian's headless Chromium through Playwright."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from pypdf import PdfReader

from screener.reports.check_pdf import ATTACHMENT
from screener.reports.check_record import is_intact
from tests.bad_inputs import CORPUS
from tests.conftest import EXAMPLE_SUPPLIERS
from tests.streamlit_server import CHROMIUM, CHROMIUM_ARGS, ServerError, served_app

pytestmark = pytest.mark.browser

SCREEN_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 20_000
"""How long an assertion waits for the page to show what it expects: a Streamlit rerun on a busy 2-core machine
takes seconds, longer than Playwright's default 5 s."""
expect.set_options(timeout=EXPECT_TIMEOUT_MS)
LISTED_SUPPLIER = "Xinjiang Zhongtai Chemical Company Limited"


@pytest.fixture(scope="module", autouse=True)
def chromium_present() -> None:
    """Skip without Debian's Chromium, with the reason; in CI (CI=true) a missing browser is a failure."""
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium fonts-noto-cjk`)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{missing}; CI must run the browser tests")
        pytest.skip(f"{missing} to run the browser tests (they fail instead when CI=true)")


@pytest.fixture(scope="module")
def browser_app_url(embedded_db, tmp_path_factory) -> Iterator[str]:
    """The app served by `streamlit run app.py` on localhost, reading a private copy of the embedded lists."""
    database = tmp_path_factory.mktemp("browser") / "lists.duckdb"
    shutil.copyfile(embedded_db, database)
    try:
        with served_app(database) as url:
            yield url
    except ServerError as error:
        pytest.fail(str(error))


@pytest.fixture
def chromium_page() -> Iterator[Page]:
    """A page in a fresh headless Chromium (a new browser session)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200}, accept_downloads=True)
        page.set_default_timeout(SCREEN_TIMEOUT_MS)
        yield page
        browser.close()


@pytest.fixture
def browser_page(browser_app_url, chromium_page) -> Page:
    """A fresh Chromium page on the app's first page."""
    chromium_page.goto(browser_app_url)
    chromium_page.get_by_role("heading", name="Screen suppliers").wait_for()
    return chromium_page


def save_screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page screenshot, copied to $BROWSER_SCREENSHOT_DIR when set (to look at)."""
    path = folder / name
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000
    if os.environ.get("BROWSER_SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["BROWSER_SCREENSHOT_DIR"]) / name)
    return path


def headline_match(page: Page, entity: str):
    """The headline-match line naming `entity` (a rerun may briefly show the previous supplier's line too)."""
    return page.get_by_text("Headline match (the listing behind the tier)").filter(has_text=entity).first


def settled_box(page: Page, locator, timeout_ms: int = 20_000) -> dict:
    """The locator's bounding box once the page stops moving it (a rerun may still be adding elements above it)."""
    box = locator.bounding_box()
    for _ in range(timeout_ms // 250):
        page.wait_for_timeout(250)
        settled = locator.bounding_box()
        if settled == box:
            return settled
        box = settled
    raise AssertionError(f"the element kept moving for {timeout_ms} ms")


def open_result_row(page: Page, index: int) -> None:
    """Click the selection box of a row of the results table (a canvas: rows are 35 px under a 35 px header), once
    the app has finished its run and the table stays where it was measured while the pointer hovers."""
    grid = page.locator("[data-testid=stDataFrame]:visible").first
    for _ in range(20):
        page.locator("[data-testid=stStatusWidgetRunningIcon]").wait_for(state="hidden", timeout=SCREEN_TIMEOUT_MS)
        grid.scroll_into_view_if_needed()
        box = settled_box(page, grid)
        x, y = box["x"] + 17, box["y"] + 35 + 35 * index + 17
        page.mouse.move(x, y)  # the box shows on hover
        page.wait_for_timeout(300)
        if grid.bounding_box() == box:
            page.mouse.click(x, y)
            return
    raise AssertionError("the results table kept moving under the pointer")


def test_upload_screen_check_and_download_in_a_real_browser(browser_page, tmp_path):
    page = browser_page
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLE_SUPPLIERS))
    page.get_by_role("button", name="Screen suppliers").click()
    page.get_by_text("suppliers screened in").wait_for()

    open_result_row(page, 2)
    expect(page.get_by_role("combobox", name="Supplier", exact=True)).to_have_value(
        re.compile(r"^row 4 · Hetian Taida .* · critical$"), timeout=SCREEN_TIMEOUT_MS)
    expect(headline_match(page, "Hetian Taida Apparel")).to_contain_text("on UFLPA Entity List")
    expect(page.get_by_text("CRITICAL · risk score").first).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="UFLPA Entity List — UFLPA 2(d)").first).to_be_visible()

    search = page.get_by_placeholder("supplier, entity or reason")
    search.fill("Zhongtai Chemical")
    search.press("Enter")
    suppliers = len(EXAMPLE_SUPPLIERS.read_text(encoding="utf-8").strip().splitlines()) - 1
    page.get_by_text(f"1 of {suppliers} suppliers shown").wait_for()
    expect(page.get_by_role("combobox", name="Supplier", exact=True)).to_have_value(
        f"row 2 · {LISTED_SUPPLIER} · critical"
    )
    page.get_by_text("CRITICAL · risk score").first.wait_for()
    citation = page.get_by_role("link", name=re.compile(r"^[a-z.]+\.(gov|eu|uk|ca|org)$")).first
    assert citation.get_attribute("href").startswith("https://")
    save_screenshot(page, tmp_path, "results.png")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download XLSX report").click()
    report = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(report)
    book = openpyxl.load_workbook(report, read_only=True)
    cells = {cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row}
    assert LISTED_SUPPLIER in cells and "critical" in cells

    page.get_by_role("link", name="Check an entity").click()
    page.get_by_label("Name", exact=True).fill("Xinjiang Zhongtai Chemical Co., Ltd.")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("CRITICAL · risk score").first.wait_for()
    assert page.get_by_text("UFLPA Entity List").first.is_visible()


def test_a_deep_link_opens_the_page_inside_the_app_navigation(browser_app_url, chromium_page):
    page = chromium_page
    page.goto(f"{browser_app_url}/sources")
    page.get_by_role("heading", name="Data sources").wait_for()
    navigation = page.locator("[data-testid=stSidebarNav]")
    assert navigation.get_by_text("Check an entity").is_visible()
    assert navigation.get_by_text("Portfolios").is_visible()
    assert "A flag is a lead to investigate" in page.locator("[data-testid=stSidebar]").inner_text()


HOSTILE_UPLOADS = [item for item in CORPUS if item.isolate or item.error]


def test_the_server_keeps_answering_after_every_hostile_upload(browser_app_url, browser_page, tmp_path):
    """Each hostile file of the corpus uploaded in turn: one error line each, the server healthy after each, and a
    good file still screens at the end."""
    page = browser_page
    for item in HOSTILE_UPLOADS:
        path = tmp_path / item.filename
        path.write_bytes(item.make())
        page.locator("input[type=file]").first.set_input_files(str(path))
        if item.error:
            page.get_by_role("alert").filter(has_text=item.error).first.wait_for()
        else:
            page.get_by_text("Preview and columns of").first.wait_for()
        assert httpx.get(f"{browser_app_url}/_stcore/health", timeout=10).text.strip() == "ok", item.filename
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLE_SUPPLIERS))
    page.get_by_role("button", name="Screen suppliers").click()
    page.get_by_text("suppliers screened in").wait_for()


def test_a_clean_check_shows_what_was_searched_and_downloads_a_sealed_record(browser_app_url, chromium_page, tmp_path):
    page = chromium_page
    page.goto(f"{browser_app_url}/check")
    page.get_by_role("heading", name="Check an entity").wait_for()
    page.get_by_label("Name", exact=True).fill("Nordic Timber AB")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("What was searched").wait_for()
    expect(page.get_by_text("CLEAR · risk score").first).to_be_visible()
    expect(page.get_by_text("Content hash (SHA-256)")).to_be_visible()
    save_screenshot(page, tmp_path, "check_record.png")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download record (JSON)").click()
    record = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert is_intact(record) and record["verdict"]["risk_tier"] == "clear"
    assert {snapshot["source"] for snapshot in record["lists_searched"]} >= {"uflpa", "cbp_wro", "sanctions"}
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download record (PDF)").click()
    printed = PdfReader(download_info.value.path())
    assert record["content_sha256"] in " ".join(page.extract_text() for page in printed.pages)
    assert json.loads(printed.attachments[ATTACHMENT][0]) == record
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download record (HTML)").click()
    printable = tmp_path / "record.html"
    download_info.value.save_as(printable)
    page.goto(printable.as_uri())
    expect(page.get_by_text(record["content_sha256"])).to_be_visible()
    save_screenshot(page, tmp_path, "check_record_print.png")


def test_a_match_opens_its_entity_page_with_every_name(browser_app_url, chromium_page, tmp_path):
    page = chromium_page
    page.goto(f"{browser_app_url}/check")
    page.get_by_label("Name", exact=True).fill("合盛硅业股份有限公司")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("What was searched").wait_for()
    headline = headline_match(page, "Hoshine Silicon")
    href = headline.get_by_role("link", name="entity page").get_attribute("href")
    assert "entity?id=uflpa" in href
    page.goto(f"{browser_app_url}/{href.split('/')[-1]}")
    page.get_by_role("heading", name="Status in each stored snapshot").wait_for()
    expect(page.get_by_role("heading", name="Names")).to_be_visible()
    expect(page.get_by_role("cell", name="Chinese").first).to_be_visible()
    expect(page.get_by_text("UFLPA Entity List").first).to_be_visible()
    save_screenshot(page, tmp_path, "entity.png")


def test_the_headline_match_is_the_listing_that_decided_the_tier(browser_page, tmp_path):
    page = browser_page
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLE_SUPPLIERS))
    page.get_by_role("button", name="Screen suppliers").click()
    page.get_by_text("suppliers screened in").wait_for()
    search = page.get_by_placeholder("supplier, entity or reason")
    search.fill("Hetian Taida")
    search.press("Enter")
    page.get_by_text("1 of 45 suppliers shown").wait_for()
    expect(headline_match(page, "Hetian Taida Apparel")).to_contain_text("on UFLPA Entity List")
    save_screenshot(page, tmp_path, "headline_match.png")
