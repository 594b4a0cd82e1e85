"""The Portfolios page, driven with streamlit.testing.v1.AppTest on a private copy of the embedded lists."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from screener.store import Store
from screener.ui.data import report_bytes
from screener.ui.portfolio_page import audit_bytes, with_progress
from tests.conftest import REPO
from tests.test_app import rendered
from tests.test_workflow import NINESTAR, add_entity, new_uflpa_snapshot

APP = str(REPO / "app.py")
TIMEOUT = 120
NEWLY_LISTED = "Zephyr Polysilicon Holdings Co"


@pytest.fixture
def page(lists_db, monkeypatch) -> AppTest:
    """The Portfolios page on a private database, with alice as the default analyst."""
    monkeypatch.setenv("SCREENER_DB", str(lists_db))
    monkeypatch.setenv("SCREENER_ANALYST", "alice")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page("app_pages/portfolios.py").run()


def supplier_csv(*names: str) -> bytes:
    frame = pl.DataFrame({"supplier_id": [f"S-{i}" for i in range(len(names))], "supplier_name": list(names),
                          "country": ["CN"] * len(names)})
    return frame.write_csv().encode()


def create(at: AppTest, name: str, *suppliers: str) -> AppTest:
    at.file_uploader(key="portfolio_file").upload("suppliers.csv", supplier_csv(*suppliers), "text/csv")
    at.run()
    next(box for box in at.text_input if box.label == "Portfolio name").set_value(name)
    at.button(key="portfolio_add_button").click()
    return at.run()


TABLE_COLUMNS = {
    "portfolio_overview": "new_alerts",
    "portfolio_changes": "cause",
    "portfolio_matches": "matched_name",
    "decision_history": "decision_id",
}


def table(at: AppTest, name: str) -> pl.DataFrame:
    """The page's table of that name, recognised by a column only it has."""
    frames = [pl.from_pandas(element.value) for element in at.dataframe]
    return next(frame for frame in frames if TABLE_COLUMNS[name] in frame.columns)


def overview(at: AppTest, name: str) -> dict:
    return table(at, "portfolio_overview").filter(pl.col("name") == name).row(0, named=True)


def pick_match(at: AppTest, entity_id: str) -> AppTest:
    match = table(at, "portfolio_matches").filter(pl.col("entity_id") == entity_id).row(0, named=True)
    at.selectbox(key="decision_match").set_value((match["supplier_key"], entity_id))
    return at.run()


def comment_box(at: AppTest):
    return next(box for box in at.text_area if box.label.startswith("Comment"))


def decide(at: AppTest, decision: str, comment: str) -> AppTest:
    comment_box(at).set_value(comment)
    at.button(key=f"decide_{decision}").click()
    return at.run()


def rescreen(at: AppTest) -> AppTest:
    at.button(key="portfolio_screen_button").click()
    return at.run()


def stored_decisions(db) -> pl.DataFrame:
    with Store(db) as store:
        return store.query("SELECT * FROM decisions")


def test_page_without_portfolios_offers_to_add_one(page):
    assert not page.exception
    assert page.title[0].value == "Portfolios"
    assert any("No portfolio yet" in info.value for info in page.info)
    assert page.file_uploader(key="portfolio_file")


def test_creating_a_portfolio_saves_and_screens_it(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation", "Quiet Meadow Textiles GmbH")
    assert not page.exception and not page.error
    assert any("Saved portfolio 'Tier 1' (2 suppliers)" in note.value for note in page.success)
    listed = overview(page, "Tier 1")
    assert listed["suppliers"] == 2 and listed["last_run_id"] is not None
    assert listed["flagged"] == 1 and listed["undecided_matches"] == 1
    matches = table(page, "portfolio_matches")
    ninestar = matches.filter(pl.col("entity_id") == NINESTAR).row(0, named=True)
    assert ninestar["tier"] == "critical" and ninestar["state"] == "open"
    with Store(lists_db) as store:
        assert store.query("SELECT name, supplier_count FROM portfolios").rows() == [("Tier 1", 2)]


def test_the_first_run_is_the_baseline_and_raises_no_alerts(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation", "Quiet Meadow Textiles GmbH")
    listed = overview(page, "Tier 1")
    assert listed["new_alerts"] == 0 and listed["changes"] == 0 and listed["flagged"] == 1
    assert any("first screening: the baseline" in info.value for info in page.info)
    assert not any("cause" in frame.value.columns for frame in page.dataframe)


def test_a_decision_shows_at_once_and_the_comment_box_is_emptied(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation")
    pick_match(page, NINESTAR)
    decide(page, "false_positive", "Different company: ours is a small firm in Ohio")
    assert not page.error
    ninestar = table(page, "portfolio_matches").filter(pl.col("entity_id") == NINESTAR).row(0, named=True)
    assert ninestar["state"] == "dismissed"
    assert overview(page, "Tier 1")["undecided_matches"] == 0
    assert comment_box(page).value == ""
    assert page.text_input(key="decision_analyst").value == "alice"


def test_a_taken_name_or_an_unreadable_file_is_refused_with_one_line(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation")
    create(page, "Tier 1", "Quiet Meadow Textiles GmbH", "Ninestar Corporation")
    assert not page.exception
    assert len(page.error) == 1 and "already exists" in page.error[0].value and "\n" not in page.error[0].value
    assert overview(page, "Tier 1")["suppliers"] == 1

    page.checkbox(key="portfolio_replace").check()
    page.button(key="portfolio_add_button").click().run()
    assert not page.error and overview(page, "Tier 1")["suppliers"] == 2

    page.file_uploader(key="portfolio_file").upload("suppliers.csv", b"\x00\x01\x02binary", "text/csv")
    page.run()
    assert len(page.error) == 1 and rendered(page.error[0].value).startswith("Cannot read suppliers.csv: ")
    with Store(lists_db) as store:
        assert store.query("SELECT supplier_count FROM portfolios").rows() == [(2,)]


def test_the_analyst_is_never_the_servers_login(page, lists_db, monkeypatch):
    monkeypatch.delenv("SCREENER_ANALYST")
    create(page, "Tier 1", "Ninestar Corporation")
    pick_match(page, NINESTAR)
    assert page.text_input(key="decision_analyst").value == ""
    assert page.text_input(key="import_analyst").value == ""
    decide(page, "false_positive", "Different company")
    assert any("analyst" in error.value for error in page.error)
    assert stored_decisions(lists_db).is_empty()


def test_a_decision_from_the_buttons_is_audited_and_dismisses_the_match_on_rescreen(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation", "Quiet Meadow Textiles GmbH")
    pick_match(page, NINESTAR)
    assert page.text_input(key="decision_analyst").value == "alice"
    decide(page, "false_positive", "Different company: ours is a small firm in Ohio")
    assert not page.error
    assert any("Recorded decision #1: false positive" in note.value for note in page.success)

    history = table(page, "decision_history")
    assert history.select("decision", "analyst", "comment").rows() == [
        ("false_positive", "alice", "Different company: ours is a small firm in Ohio")
    ]
    audit = pl.read_csv(io.BytesIO(audit_bytes("Tier 1", "csv")))
    assert audit.select("decision", "analyst", "entity_id", "origin").rows() == [
        ("false_positive", "alice", NINESTAR, "ui")
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(audit_bytes(None, "xlsx"))).active
    assert [cell.value for cell in sheet[2]][3] == "false_positive"
    assert {button.key for button in page.download_button} >= {"audit_csv", "audit_xlsx"}

    rescreen(page)
    assert not page.exception and not page.error
    ninestar = table(page, "portfolio_matches").filter(pl.col("entity_id") == NINESTAR).row(0, named=True)
    assert ninestar["state"] == "dismissed" and ninestar["tier"] not in ("critical", "high")
    assert overview(page, "Tier 1")["flagged"] == 0
    tier_change = table(page, "portfolio_changes").filter(pl.col("change") == "tier change").row(0, named=True)
    assert tier_change["supplier"] == "Ninestar Corporation"
    assert "analyst decision since the last run" in tier_change["cause"]


def test_a_decision_without_a_comment_is_refused_with_one_line(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation")
    pick_match(page, NINESTAR)
    decide(page, "confirmed", "   ")
    assert not page.exception
    assert len(page.error) == 1 and "comment" in page.error[0].value and "\n" not in page.error[0].value
    assert stored_decisions(lists_db).is_empty()
    assert not page.success


def test_a_newer_uflpa_snapshot_brings_new_alerts_with_their_cause(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation", NEWLY_LISTED)
    assert overview(page, "Tier 1")["flagged"] == 1
    with Store(lists_db) as store:
        old_snapshot = store.current_snapshots().filter(pl.col("source") == "uflpa")["snapshot_id"][0]
    new_snapshot = new_uflpa_snapshot(lists_db, add_entity(NEWLY_LISTED))

    rescreen(page)
    assert not page.exception and not page.error
    listed = overview(page, "Tier 1")
    assert listed["flagged"] == 2 and listed["new_alerts"] >= 1
    hit = table(page, "portfolio_changes").filter(
        (pl.col("supplier") == NEWLY_LISTED) & (pl.col("change") == "new hit")
    ).row(0, named=True)
    assert hit["attention"] and hit["listed_entity"] == NEWLY_LISTED
    assert f"uflpa list: snapshot {old_snapshot} " in hit["cause"]
    assert f"→ snapshot {new_snapshot} (as of 2026-11-01)" in hit["cause"]
    assert table(page, "portfolio_changes").filter(pl.col("supplier") == "Ninestar Corporation").is_empty()

    alert_run = listed["last_run_id"]
    rescreen(page)
    assert overview(page, "Tier 1")["new_alerts"] == 0
    assert any("Nothing changed since the previous run" in info.value for info in page.info)
    next(box for box in page.selectbox if box.label == "Run").set_value(alert_run).run()
    assert NEWLY_LISTED in table(page, "portfolio_changes")["supplier"].to_list()


def test_rescreening_reports_progress_through_the_shared_screener(lists_db):
    from screener.columns import ColumnMapping
    from screener.screening import Screener

    reported = []
    frame = pl.read_csv(io.BytesIO(supplier_csv("Ninestar Corporation", NEWLY_LISTED)))
    screener = with_progress(Screener.from_db(lists_db), lambda done, total: reported.append((done, total)))
    result = screener.screen(frame, ColumnMapping(name="supplier_name", country="country"))
    assert reported[-1] == (2, 2) and result.rows.height == 2


def test_every_decision_stays_in_the_history_and_a_confirmed_match_stays_flagged(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation")
    pick_match(page, NINESTAR)
    decide(page, "escalated", "Legal to review the USCC")
    decide(page, "confirmed", "Same USCC as the listed entity")
    history = table(page, "decision_history")
    assert history.select("decision", "in_force").rows() == [("escalated", False), ("confirmed", True)]
    rescreen(page)
    ninestar = table(page, "portfolio_matches").filter(pl.col("entity_id") == NINESTAR).row(0, named=True)
    assert ninestar["state"] == "confirmed" and ninestar["tier"] == "critical"
    assert stored_decisions(lists_db).height == 2


def import_reviewed(at: AppTest, content: bytes) -> AppTest:
    at.file_uploader(key="reviewed_Tier 1").upload("reviewed.csv", content, "text/csv")
    at.run()
    at.button(key="import_button").click()
    return at.run()


def test_decisions_from_a_reviewed_report_are_imported_all_or_none(page, lists_db):
    create(page, "Tier 1", "Ninestar Corporation", "Quiet Meadow Textiles GmbH")
    assert {button.key for button in page.download_button} >= {"review_xlsx", "review_csv"}
    rows = pl.read_csv(io.BytesIO(report_bytes(page.session_state["portfolio_results"]["Tier 1"].result, "csv")))
    reviewed = rows.select(
        "supplier_key", "match_entity_id",
        decision=pl.when(pl.col("match_entity_id") == NINESTAR).then(pl.lit("maybe")),
        comment=pl.lit("Checked the registry"),
    )
    import_reviewed(page, reviewed.write_csv().encode())
    assert len(page.error) == 1 and "unknown decision on line 2" in page.error[0].value
    assert stored_decisions(lists_db).is_empty()

    fixed = reviewed.with_columns(pl.col("decision").replace({"maybe": "false positive"}))
    import_reviewed(page, fixed.write_csv().encode())
    assert not page.error
    assert any("Recorded 1 decision(s) from reviewed.csv" in note.value for note in page.success)
    assert stored_decisions(lists_db).select("decision", "analyst", "origin").rows() == [
        ("false_positive", "alice", "ui-import:reviewed.csv")
    ]
