"""The Streamlit pages, driven with streamlit.testing.v1.AppTest against the embedded lists."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import tempfile

import openpyxl
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import screener.screening
from screener.cpu import usable_cores
from screener.ui import state
from screener.ui.data import REPORT_FORMATS, citation_lines, report_bytes
from tests.bad_inputs import CORPUS, workbook
from tests.conftest import EXAMPLE_SUPPLIERS, REPO

APP = str(REPO / "app.py")
TIMEOUT = 120
LISTED_SUPPLIER = "Xinjiang Zhongtai Chemical Company Limited"
REFUSED = [entry for entry in CORPUS if entry.error]


@pytest.fixture
def app(app_env) -> AppTest:
    """The app on its first page, rendered once."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="supplier_file").upload(name, content, "text/csv")
    return at.run()


def screened(at: AppTest) -> AppTest:
    upload(at, "suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes())
    at.button(key="screen_button").click()
    return at.run()


def table_with(at: AppTest, column: str) -> pl.DataFrame:
    """The last table on the page that has the given column."""
    frames = [pl.from_pandas(element.value) for element in at.dataframe]
    return next(frame for frame in reversed(frames) if column in frame.columns)


def results(at: AppTest) -> pl.DataFrame:
    return table_with(at, "main_reason")


def rendered(markdown: str) -> str:
    """Markdown source as it reads on the page (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def row_of(at: AppTest, supplier: str) -> int:
    """The input position of a supplier in the screened example."""
    rows = at.session_state["screening"]["result"].rows
    return rows.filter(pl.col("supplier_name") == supplier)["row"][0]


def markdown_text(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown)


def test_first_page_asks_for_a_supplier_file_and_states_the_size_limit(app):
    assert not app.exception
    assert app.title[0].value == "Screen suppliers"
    assert app.file_uploader(key="supplier_file")
    assert any("MB" in caption.value for caption in app.caption)


def test_detected_columns_are_preselected(app):
    upload(app, "suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes())
    chosen = {
        box.key.split("_", 1)[1].rsplit("_", 1)[0]: box.value for box in app.selectbox if box.key.startswith("column_")
    }
    assert chosen["name"] == "supplier_name"
    assert chosen["country"] == "country"
    assert chosen["address"] == "address"
    assert chosen["product"] == "product"
    assert chosen["hs_code"] == "hs_code"
    assert chosen["uscc"] is None


def test_screening_flags_a_listed_supplier_critical_with_a_citation(app):
    screened(app)
    assert not app.exception and not app.error
    table = results(app)
    assert table.height == pl.read_csv(EXAMPLE_SUPPLIERS).height
    listed = table.filter(pl.col("supplier") == LISTED_SUPPLIER).row(0, named=True)
    assert listed["tier"] == "critical"
    assert "UFLPA" in listed["list"]
    assert listed["source_url"].startswith("http")
    assert table["tier"][0] == "critical", "most severe suppliers come first"
    counts = {metric.label: int(metric.value.replace(",", "")) for metric in app.metric}
    assert counts["critical"] == table.filter(pl.col("tier") == "critical").height > 0
    progress = app.get("progress")
    assert progress and progress[0].value == 100 and f"Screened {table.height} suppliers" in progress[0].proto.text


def test_an_excel_upload_screens_like_the_csv(app):
    rows = pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False)
    content = workbook(
        {"Suppliers": [rows.columns, *[list(row) for row in rows.iter_rows()]]}, title_row="Vendor master"
    )
    upload(app, "suppliers.xlsx", content)
    app.button(key="screen_button").click().run()
    assert not app.exception and not app.error
    table = results(app)
    assert table.height == rows.height
    assert table.filter(pl.col("supplier") == LISTED_SUPPLIER)["tier"].to_list() == ["critical"]


def test_detail_panel_shows_reasons_citations_and_candidates(app):
    screened(app)
    detail = app.selectbox(key="detail_row")
    detail.set_value(row_of(app, LISTED_SUPPLIER)).run()
    text = markdown_text(app)
    assert ":red-badge[CRITICAL" in text
    assert "Citations" in text and "UFLPA Entity List" in text and "](http" in text
    candidates = table_with(app, "explanation")
    assert {"score", "band", "matched_name", "explanation"} <= set(candidates.columns)
    assert candidates["band"][0] == "match"


def test_a_citation_with_several_addresses_shows_each_as_a_link(app):
    screened(app)
    result = app.session_state["screening"]["result"]
    cited = result.candidates.filter((pl.col("band") == "match") & pl.col("source_url").str.contains(" | ", literal=True))
    app.selectbox(key="detail_row").set_value(cited["row"][0]).run()
    citations = next(line for line in markdown_text(app).split("**Citations**")[1:])
    urls = cited["source_url"][0].split(" | ")
    assert all(f"]({url})" in citations for url in urls)
    assert " | " not in citations


def test_tables_leave_missing_values_empty_instead_of_none(app):
    screened(app)
    clear = results(app).filter(pl.col("tier") == "clear")
    assert clear.height
    for column in ("matched_entity", "match_score", "list", "program", "source_url"):
        assert clear[column].to_list() == [""] * clear.height, column


def test_tier_filter_and_search_narrow_the_table(app):
    screened(app)
    key = next(box.key for box in app.multiselect if box.key.startswith("filter_tier_"))
    app.multiselect(key=key).set_value(["critical"]).run()
    critical = results(app)
    assert critical.height > 0 and set(critical["tier"]) == {"critical"}
    search = next(box.key for box in app.text_input if box.key.startswith("search_"))
    app.text_input(key=search).set_value("zhongtai chemical").run()
    assert results(app)["supplier"].to_list() == [LISTED_SUPPLIER]


def test_list_filter_finds_every_row_with_a_match_on_that_list(app):
    screened(app)
    result = app.session_state["screening"]["result"]
    matches = result.candidates.filter(pl.col("band") == "match").join(
        result.rows.select("row", "match_list"), on="row"
    )
    hidden = matches.filter(pl.col("list_name") != pl.col("match_list"))["list_name"].mode().first()
    key = next(box.key for box in app.multiselect if box.key.startswith("filter_list_"))
    app.multiselect(key=key).set_value([hidden]).run()
    shown = results(app)
    assert shown.height == matches.filter(pl.col("list_name") == hidden)["row"].n_unique()
    assert (shown["list"] != hidden).any(), "rows headlined by another list are kept"


def test_every_report_format_is_offered_for_download(app):
    screened(app)
    labels = [button.label for button in app.download_button]
    assert labels == [f"Download {fmt.upper()} report" for fmt in REPORT_FORMATS]


@pytest.mark.parametrize("entry", REFUSED, ids=[entry.filename for entry in REFUSED])
def test_bad_upload_shows_one_line_error_not_a_traceback(app, entry):
    upload(app, entry.filename, entry.make())
    assert not app.exception
    messages = [rendered(error.value) for error in app.error]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert entry.error.lower() in messages[0].lower()
    assert not app.button


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16"])
def test_legacy_encoded_upload_is_read_and_screened(app, encoding):
    content = "供应商名称,国家,地址\n新疆中泰化学股份有限公司,CN,乌鲁木齐市\n".encode(encoding)
    upload(app, f"suppliers_{encoding}.csv", content)
    assert not app.error
    app.button(key="screen_button").click().run()
    assert results(app).select("supplier", "tier").rows() == [("新疆中泰化学股份有限公司", "critical")]


def test_unrecognised_name_column_can_be_chosen_by_hand(app):
    content = b"Firma,Land\nHoshine Silicon Industry (Shanshan) Co., Ltd.,CN\nOhio Valley Packaging LLC,US\n"
    upload(app, "lieferanten.csv", content)
    assert "No supplier-name column" in rendered(app.error[0].value)
    name_box = next(box for box in app.selectbox if box.key.startswith("column_name_"))
    name_box.set_value("Firma").run()
    app.button(key="screen_button").click().run()
    table = results(app)
    assert table.filter(pl.col("supplier").str.starts_with("Hoshine"))["tier"].to_list() == ["critical"]


def test_second_screening_reuses_the_cached_lists(app, monkeypatch):
    state.reload_lists()
    loads = []
    real = screener.screening.load_lists
    monkeypatch.setattr(screener.screening, "load_lists", lambda *args: loads.append(args) or real(*args))
    screened(app)
    upload(app, "again.csv", EXAMPLE_SUPPLIERS.read_bytes() + b"S-9999,Camel Group Co Ltd,CN,,batteries,8507.10,1\n")
    app.button(key="screen_button").click().run()
    assert results(app).height == pl.read_csv(EXAMPLE_SUPPLIERS).height + 1
    assert len(loads) == 1


def check(at: AppTest, name: str, country: str = "") -> AppTest:
    at.switch_page("app_pages/check.py").run()
    at.text_input[0].input(name)
    at.text_input[1].input(country)
    at.button[0].click()
    return at.run()


def test_check_an_entity_gives_a_cited_verdict_and_candidates(app):
    check(app, "Xinjiang Zhongtai Chemical Co., Ltd.", "CN")
    assert not app.exception and not app.error
    text = markdown_text(app)
    assert ":red-badge[CRITICAL" in text and "UFLPA Entity List" in text and "](http" in text
    candidates = table_with(app, "explanation")
    assert candidates["entity"][0].startswith("Xinjiang Zhongtai")


@pytest.mark.skipif(len(usable_cores()) < 2, reason="one core: nothing to pin to")
def test_the_check_page_checks_on_one_core_and_gives_the_cores_back(app, monkeypatch):
    """One name's many small polars steps run faster on one core (screener.cpu); the page's other work is not held
    to it afterwards."""
    seen: list[list[set[int]]] = []
    checked = screener.screening.Screener.check

    def check_watched(self, *args, **kwargs):
        seen.append([os.sched_getaffinity(int(task)) for task in os.listdir("/proc/self/task")])
        return checked(self, *args, **kwargs)

    monkeypatch.setattr(screener.screening.Screener, "check", check_watched)
    before = os.sched_getaffinity(0)
    check(app, "Nordic Timber AB", "SE")
    assert not app.exception and not app.error
    assert seen and all(len(cores) == 1 for cores in seen[0])
    assert os.sched_getaffinity(0) == before


def test_a_clean_check_says_what_it_searched_and_offers_the_sealed_record(app):
    check(app, "Nordic Timber AB", "SE")
    assert not app.exception and not app.error
    text = markdown_text(app)
    assert "What was searched" in text
    for title in ("UFLPA", "Withhold Release Orders", "sanctions"):
        assert title in text
    caption = "\n".join(element.value for element in app.caption)
    assert "match threshold" in caption and "Content hash (SHA-256)" in caption and "Checked at" in caption
    labels = [button.label for button in app.get("download_button")]
    assert {"Download record (PDF)", "Download record (HTML)", "Download record (JSON)"} <= set(labels)


def test_thresholds_and_list_date_set_in_the_sidebar_apply_to_the_check(app):
    app.date_input(key="setting_as_of").set_value(dt.date(2021, 1, 1)).run()
    app.slider(key="setting_match_threshold").set_value(99.5).run()
    check(app, "Hoshine Silicon Industry (Shanshan) Co., Ltd.", "CN")
    assert not app.exception and not app.error
    caption = "\n".join(element.value for element in app.caption)
    assert "match threshold 99.5" in caption and "2021-01-01" in caption
    assert "UFLPA Entity List" not in markdown_text(app).split("What was searched")[0]


def test_check_accepts_chinese_script(app):
    check(app, "新疆生产建设兵团")
    assert not app.exception and not app.error
    candidates = table_with(app, "explanation")
    assert "新疆生产建设兵团" in candidates["matched_name"].to_list()
    assert ":red-badge[" in markdown_text(app) or ":orange-badge[" in markdown_text(app)


def test_check_without_a_name_asks_for_one(app):
    check(app, "   ")
    assert app.error[0].value == "Enter a name to check."


def test_sources_page_lists_each_snapshot_with_as_of_and_counts(app):
    app.switch_page("app_pages/sources.py").run()
    assert not app.exception and not app.error
    snapshots = pl.from_pandas(app.dataframe[0].value)
    manifest = json.loads((REPO / "data" / "manifest.json").read_text())
    for entry in manifest["lists"]:
        stored = snapshots.filter(pl.col("source") == entry["source"]).row(0, named=True)
        assert str(stored["as_of"])[:10] == entry["as_of"]
        assert stored["row_count"] == entry["entities"]
        assert stored["name_count"] == entry["names"]
    assert any("Licence" in element.value for element in app.markdown)


def test_every_page_says_how_old_the_lists_are_and_warns_past_the_age_limit(app_env, monkeypatch):
    monkeypatch.setenv("SCREENER_MAX_AGE_DAYS", "0")
    state.reload_lists()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert any("Lists in use: " in element.value and "days old" in element.value for element in at.sidebar.caption)
    for page in ("app_pages/screen.py", "app_pages/sources.py"):
        at.switch_page(page).run()
        warnings = [element.value for element in at.warning]
        assert any("The uflpa list is" in text and "screener ingest uflpa" in text for text in warnings), warnings
    monkeypatch.setenv("SCREENER_MAX_AGE_DAYS", "1000000")
    assert not [element for element in at.run().warning if "days old" in element.value]


def test_report_bytes_open_in_every_format(app_env):
    result = screener.screening.screen_file(EXAMPLE_SUPPLIERS, app_env)
    book = openpyxl.load_workbook(io.BytesIO(report_bytes(result, "xlsx")), read_only=True)
    assert LISTED_SUPPLIER in {cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row}
    assert LISTED_SUPPLIER in report_bytes(result, "html").decode()
    assert LISTED_SUPPLIER in report_bytes(result, "csv").decode()
    assert json.loads(report_bytes(result, "json"))


@pytest.fixture
def sources_app(lists_db, monkeypatch) -> AppTest:
    """The sources page on a private database, refreshing from a fake web serving the UFLPA fixture page."""
    from sources import uflpa
    from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok

    monkeypatch.setenv("SCREENER_DB", str(lists_db))
    web = FakeWeb({uflpa.URL: ok(fixture("uflpa_entity_list.html"))})
    monkeypatch.setattr("screener.ui.sources_page.http_client", web.client)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page("app_pages/sources.py").run()


def refresh(at: AppTest, force: bool) -> AppTest:
    at.multiselect(key="refresh_sources").set_value(["uflpa"])
    at.checkbox(key="refresh_force").set_value(force)
    at.button(key="refresh_button").click()
    return at.run()


def current_uflpa(at: AppTest) -> dict:
    return pl.from_pandas(at.dataframe[0].value).filter(pl.col("source") == "uflpa").row(0, named=True)


def test_refresh_that_shrinks_a_list_is_refused_and_the_stored_list_kept(sources_app):
    before = current_uflpa(sources_app)
    refresh(sources_app, force=False)
    assert not sources_app.exception
    assert any("uflpa" in error.value and "kept" in error.value for error in sources_app.error)
    assert current_uflpa(sources_app) == before


def test_forced_refresh_stores_a_new_snapshot_and_shows_the_changes(sources_app):
    before = current_uflpa(sources_app)
    refresh(sources_app, force=True)
    assert not sources_app.exception and not sources_app.error
    after = current_uflpa(sources_app)
    assert after["snapshot_id"] != before["snapshot_id"] and after["origin"] == "ingest"
    assert any(f"new snapshot {after['snapshot_id']}" in message.value for message in sources_app.success)
    assert any(
        expander.label.startswith(f"uflpa: snapshot {before['snapshot_id']} → {after['snapshot_id']}")
        for expander in sources_app.expander
    )


def test_rules_page_lists_the_active_rules(app):
    app.switch_page("app_pages/rules.py").run()
    assert not app.exception and not app.error
    rules = pl.from_pandas(app.dataframe[0].value)
    uflpa = rules.filter(pl.col("id") == "uflpa_entity").row(0, named=True)
    assert uflpa["tier"] == "critical" and "UFLPA" in uflpa["basis"]
    assert uflpa["origin"] == "builtin.toml"


def upload_rules(at: AppTest, name: str, text: str) -> AppTest:
    at.switch_page("app_pages/rules.py").run()
    at.file_uploader[0].upload(name, text.encode(), "application/toml")
    return at.run()


def test_malformed_rules_file_shows_one_line_error(app):
    upload_rules(app, "bad.toml", '[[rule]]\nid = "mine"\ntitle = "x"\ntier = "catastrophic"\n')
    assert not app.exception
    assert len(app.error) == 1 and rendered(app.error[0].value).startswith("Cannot use bad.toml:")
    assert "\n" not in app.error[0].value


def test_custom_rules_apply_to_this_session_until_removed(app, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    upload_rules(app, "ours.toml", '[[rule]]\nid = "uflpa_entity"\ntier = "high"\nweight = 70\n')
    assert not app.error
    assert not list(tmp_path.iterdir()), "the uploaded rules file is left behind"
    rules = pl.from_pandas(app.dataframe[0].value)
    assert rules.filter(pl.col("id") == "uflpa_entity")["tier"].to_list() == ["high"]
    check(app, "Xinjiang Zhongtai Chemical Co., Ltd.", "CN")
    assert ":orange-badge[HIGH" in markdown_text(app)
    app.switch_page("app_pages/rules.py").run()
    app.button(key="builtin_rules_button").click().run()
    check(app, "Xinjiang Zhongtai Chemical Co., Ltd.", "CN")
    assert ":red-badge[CRITICAL" in markdown_text(app)


def test_a_workbook_sheet_can_be_chosen(app):
    sheets = {
        "Notes": [["Prepared by", "procurement"], ["Date", "2026-01-05"]],
        "Vendors": [["Vendor name", "Country"], ["Camel Group Co., Ltd.", "CN"], ["Ohio Valley Packaging LLC", "US"]],
    }
    upload(app, "vendors.xlsx", workbook(sheets))
    app.selectbox(key=next(box.key for box in app.selectbox if box.key.startswith("sheet_"))).set_value("Vendors").run()
    assert not app.error
    assert next(box.value for box in app.selectbox if box.key.startswith("column_name_")) == "Vendor name"
    app.button(key="screen_button").click().run()
    assert results(app).select("supplier", "tier").rows()[0] == ("Camel Group Co., Ltd.", "critical")


INJECTED = "Hoshine ![pixel](https://evil.example/p.png) [open](data:text/html,x) <img src=x> :red[alarm] Silicon"
LIVE_MARKDOWN = re.compile(r"(?<!\\)(!?\[[^\]]*(?<!\\)\]\(|<img|(?<!\\):red\[)")


def test_typed_and_listed_text_is_shown_as_text_not_markdown(app):
    check(app, INJECTED, "CN")
    assert not app.exception
    shown = [element.value for element in [*app.subheader, *app.markdown, *app.caption]]
    assert any(rendered(value) == f"Verdict for {INJECTED}" for value in shown)
    assert not [value for value in shown if INJECTED[:20] in rendered(value) and LIVE_MARKDOWN.search(value)]


def test_citations_link_only_to_web_addresses():
    candidates = pl.DataFrame({
        "band": ["match", "match"], "entity": ["Evil ](javascript:alert(1)) Co", "Good Co"], "list": ["L", "L"],
        "program": [None, None], "citation": [None, None], "start_date": [None, None], "status": [None, None],
        "snapshot": [None, None], "entity_id": ["uflpa:1", "uflpa:2"],
        "source_urls": ["data:text/html,<script>alert(1)</script> | javascript:alert(1)", "https://www.dhs.gov/x"],
    })
    first, second = citation_lines(candidates)
    assert first.endswith(" — [entity page](entity?id=uflpa:1)")
    assert "](" not in first.removesuffix(" — [entity page](entity?id=uflpa:1)").replace("\\]\\(", "")
    assert second.endswith("[dhs\\.gov](https://www.dhs.gov/x) · [entity page](entity?id=uflpa:2)")
