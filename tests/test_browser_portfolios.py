"""The Portfolios page in a real browser: `streamlit run app.py` driven by Debian's headless Chromium."""

from __future__ import annotations

import re

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from tests.test_browser import browser_app_url, chromium_page, chromium_present, save_screenshot  # noqa: F401

pytestmark = pytest.mark.browser

SUPPLIERS = pl.DataFrame({
    "supplier_id": ["S-1", "S-2"],
    "supplier_name": ["Ninestar Corporation", "Quiet Meadow Textiles GmbH"],
    "country": ["CN", "DE"],
})


def metric(page: Page, label: str) -> str:
    return page.locator("[data-testid=stMetric]").filter(has_text=label).locator(
        "[data-testid=stMetricValue]").inner_text()


def test_a_decision_and_a_rescreen_show_at_once_without_false_alerts(browser_app_url, chromium_page, tmp_path):
    page = chromium_page
    upload = tmp_path / "brand-x.csv"
    SUPPLIERS.write_csv(upload)
    page.goto(f"{browser_app_url}/portfolios")
    page.get_by_role("heading", name="Portfolios").first.wait_for()
    page.locator("input[type=file]").first.set_input_files(str(upload))
    page.get_by_role("button", name="Save and screen").click()
    page.get_by_text("Saved portfolio 'brand-x' (2 suppliers) and screened it.").wait_for()

    # The first run is the baseline: its matches are not new alerts.
    assert metric(page, "New alerts") == "0"
    page.get_by_text("is the portfolio's first screening").wait_for()

    expect(page.get_by_role("combobox", name="Match to decide")).to_have_value(re.compile(r"^Ninestar Corporation ↔ "))
    state = page.get_by_text("State of this match:")
    expect(state).to_have_text("State of this match: open")
    comment = page.get_by_label("Comment (required: why, kept in the audit log)")
    comment.fill("Different company: ours is a small firm in Ohio")
    page.get_by_label("Analyst (required: your name)").fill("alice")
    page.get_by_role("button", name="False positive").click()
    page.get_by_text("Recorded decision #1: false positive").wait_for()

    # The decision shows at once, and the comment box is empty for the next one.
    expect(state).to_have_text("State of this match: dismissed")
    expect(comment).to_have_count(1)  # the box of the recorded decision is gone once the page has rerun
    expect(comment).to_have_value("")
    assert metric(page, "Undecided matches") == "0"

    page.get_by_role("button", name="Re-screen against the newest lists").click()
    page.get_by_text("Run #2 of 'brand-x'").wait_for()
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile(r"^run #2 "))
    page.get_by_text("Changes in run #2 since run #1").wait_for()
    save_screenshot(page, tmp_path, "portfolio_after_rescreen.png")
