"""Report writers: every format read back and checked for rows, verdicts, citations, snapshots and safety."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.reports import ReportError, tables, write_report
from screener.result import ScreenResult

HOSTILE_FORMULA = '=HYPERLINK("http://evil","x")'
HOSTILE_SCRIPT = "<script>alert(1)</script> Trading"
CHINESE_NAME = "新疆中泰化学股份有限公司"
UFLPA_URL = "https://www.dhs.gov/uflpa-entity-list"
BIS_URL = "https://www.federalregister.gov/d/2021-13395"
PRESS_URL = "https://www.commerce.gov/news/press-releases/2021/06/commerce-adds-five-chinese-entities"

SUPPLIERS = {
    "Supplier Name": [
        "Xinjiang East Hope Nonferrous Metals Co., Ltd.",
        CHINESE_NAME,
        HOSTILE_FORMULA,
        HOSTILE_SCRIPT,
        "Acme Textiles GmbH",
        None,
        "Hoshine Silicon Industry Co., Ltd.",
        "Camel Group Co., Ltd.",
    ],
    "Country": ["CN", "中国", "CN", "CN", "DE", "CN", "CN", "CN"],
    "Address": ["Changji, Xinjiang", "乌鲁木齐市", "", "Shenzhen", "Berlin", "Hotan", "Shanshan, Xinjiang", "Xiangyang"],
    "Notes": ["aluminium", "PVC", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)", "-5", "\tindented", "+86 991 1234567", ""],
}
VERDICTS = [
    ("critical", 98.0, ["uflpa_entity"], "UFLPA Entity List: Xinjiang East Hope Nonferrous Metals Co., Ltd. (UFLPA 2(d)(2)(B)(ii), listed 2022-06-21)"),
    ("critical", 97.0, ["uflpa_entity"], "UFLPA Entity List: Xinjiang Zhongtai Chemical Co., Ltd. (UFLPA 2(d)(2)(B)(ii), listed 2023-12-01)"),
    ("low", 10.0, ["china_no_signal"], "China-based supplier with no other signal"),
    ("medium", 45.0, ["review_band"], "Name in the review band of BIS Entity List: needs analyst review"),
    ("clear", 0.0, [], None),
    ("medium", 40.0, [], "No supplier name in this row: it could not be screened against the lists; add the name and screen again"),
    ("high", 80.0, ["sanctions_listing", "review_band"], "BIS Entity List: Hoshine Silicon Industry Co., Ltd. | Name in the review band of UFLPA Entity List: needs analyst review"),
    ("low", 10.0, ["china_no_signal"], "China-based supplier with no other signal"),
]
ENTITIES = {
    "uflpa:east_hope": {
        "source": "uflpa", "list_name": "UFLPA Entity List", "list_kind": "legal", "authority": "US-DHS",
        "program": "UFLPA 2(d)(2)(B)(ii)", "entity_type": "organization",
        "name": "Xinjiang East Hope Nonferrous Metals Co., Ltd.", "country": "CN", "addresses": "", "sector": "aluminum",
        "merchandise": "", "status": "active", "start_date": dt.date(2022, 6, 21), "end_date": None,
        "citation": "Federal Register 2022-16754", "remarks": "", "source_url": UFLPA_URL, "includes_affiliates": False,
    },
    "uflpa:zhongtai": {
        "source": "uflpa", "list_name": "UFLPA Entity List", "list_kind": "legal", "authority": "US-DHS",
        "program": "UFLPA 2(d)(2)(B)(ii)", "entity_type": "organization",
        "name": "Xinjiang Zhongtai Chemical Co., Ltd.", "country": "CN", "addresses": "Urumqi", "sector": "PVC",
        "merchandise": "", "status": "active", "start_date": dt.date(2023, 12, 1), "end_date": None,
        "citation": "Federal Register 2023-26460", "remarks": "", "source_url": UFLPA_URL, "includes_affiliates": True,
    },
    "sanctions:hoshine": {
        "source": "sanctions", "list_name": "BIS Entity List", "list_kind": "legal", "authority": "US-BIS",
        "program": "EAR 15 CFR 744.11", "entity_type": "organization", "name": "Hoshine Silicon Industry Co., Ltd.",
        "country": "CN", "addresses": "Shanshan", "sector": "polysilicon", "merchandise": "", "status": "active",
        "start_date": dt.date(2021, 6, 24), "end_date": None, "citation": "FR Doc 2021-13395", "remarks": "",
        "source_url": f"{BIS_URL} | {PRESS_URL}", "includes_affiliates": False,
    },
    "sanctions:trading": {
        "source": "sanctions", "list_name": "BIS Entity List", "list_kind": "legal", "authority": "US-BIS",
        "program": "EAR 15 CFR 744.11", "entity_type": "organization", "name": "Script Trading Co.", "country": "CN",
        "addresses": "", "sector": "", "merchandise": "", "status": "active", "start_date": dt.date(2020, 7, 22),
        "end_date": None, "citation": "FR Doc 2020-16198", "remarks": "", "source_url": "javascript:alert(2)",
        "includes_affiliates": False,
    },
}
CANDIDATES = [
    (0, "uflpa:east_hope", "Xinjiang East Hope Nonferrous Metals Co., Ltd.", "primary", "en", 98.4, "match"),
    (1, "uflpa:zhongtai", CHINESE_NAME, "alias", "zh", 100.0, "match"),
    (3, "sanctions:trading", "Script Trading Co.", "primary", "en", 71.2, "review"),
    (6, "uflpa:east_hope", "Xinjiang East Hope Nonferrous Metals Co., Ltd.", "primary", "en", 72.0, "review"),
    (6, "sanctions:hoshine", "Hoshine Silicon Industry Co., Ltd.", "primary", "en", 99.0, "match"),
]
SNAPSHOTS = [
    {"source": "sanctions", "title": "Xinjiang-related sanctions and export controls", "snapshot_id": 2,
     "as_of": "2025-12-01", "url": "https://www.bis.gov/entity-list | https://sanctionssearch.ofac.treas.gov/",
     "coverage": "BIS, OFAC, EU, UK, CA", "origin": "embedded", "sha256": "b" * 64, "age_days": 2, "age_warning": ""},
    {"source": "uflpa", "title": "DHS UFLPA Entity List", "snapshot_id": 3, "as_of": "2025-01-15", "url": UFLPA_URL,
     "coverage": "127 of 144 entities", "origin": "embedded", "sha256": "a" * 64, "age_days": 312,
     "age_warning": "The uflpa list is 312 days old (as of 2025-01-15), older than 90 days; run `screener ingest uflpa`."},
]


def make_result(suppliers: dict[str, list] | None = None, with_candidates: bool = True) -> ScreenResult:
    """A ScreenResult shaped as the screening pipeline builds it."""
    inputs = pl.DataFrame(suppliers or SUPPLIERS, schema={name: pl.String for name in suppliers or SUPPLIERS})
    matcher_rows = [
        dict(zip(("row", "entity_id", "matched_name", "name_kind", "name_lang", "score", "band"), candidate, strict=True))
        | {"explanation": f"token similarity {candidate[5]}"}
        for candidate in (CANDIDATES if with_candidates else [])
    ]
    candidates = pl.DataFrame(
        [row | ENTITIES[row["entity_id"]] for row in matcher_rows],
        schema={"row": pl.UInt32, "entity_id": pl.String, "matched_name": pl.String, "name_kind": pl.String,
                "name_lang": pl.String, "score": pl.Float64, "band": pl.String, "explanation": pl.String,
                "source": pl.String, "list_name": pl.String, "list_kind": pl.String, "authority": pl.String,
                "program": pl.String, "entity_type": pl.String, "name": pl.String, "country": pl.String,
                "addresses": pl.String, "sector": pl.String, "merchandise": pl.String, "status": pl.String,
                "start_date": pl.Date, "end_date": pl.Date, "citation": pl.String, "remarks": pl.String,
                "source_url": pl.String, "includes_affiliates": pl.Boolean},
        orient="row",
    )
    best = (
        candidates.filter(pl.col("band") == "match")
        .sort(["row", "score"], descending=[False, True])
        .unique("row", keep="first", maintain_order=True)
        .select("row", match_name="name", match_source="source", match_list="list_name", match_score="score",
                match_entity_id="entity_id")
    )
    verdicts = VERDICTS[: inputs.height]
    rows = (
        inputs.with_row_index("row")
        .with_columns(
            name_missing=pl.Series([name is None for name in inputs[inputs.columns[0]]]),
            risk_tier=pl.Series([tier for tier, *_ in verdicts]),
            risk_score=pl.Series([score for _, score, *_ in verdicts]),
            reasons=pl.Series([reasons.split(" | ") if reasons else [] for *_, reasons in verdicts],
                              dtype=pl.List(pl.String)),
            fired_rules=pl.Series([fired for _, _, fired, _ in verdicts], dtype=pl.List(pl.String)),
        )
        .join(best, on="row", how="left", maintain_order="left")
        .select("row", *inputs.columns, "name_missing", "risk_tier", "risk_score", "match_name",
                "match_source", "match_list", "match_score", "match_entity_id", "reasons", "fired_rules")
    )
    metadata = {
        "tool_version": "0.1.0",
        "rules_version": "rules-5f3a9c1e2b7d",
        "snapshots": SNAPSHOTS,
        "thresholds": {"match": 88.0, "review": 70.0},
        "as_of": None,
        "run_at": "2026-11-23T09:30:00+00:00",
        "input": "suppliers.csv",
        "columns": {"name": inputs.columns[0], "country": "Country", "address": "Address", "product": None,
                    "hs_code": None, "uscc": None},
    }
    return ScreenResult(rows=rows, candidates=candidates, metadata=metadata)


@pytest.fixture
def result() -> ScreenResult:
    return make_result()


def read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_keeps_every_row_in_order_with_inputs_and_verdicts(tmp_path, result):
    path = write_report(result, tmp_path / "report.csv")
    rows = read_csv(path)
    assert rows.height == 8
    assert rows["source_row"].to_list() == [str(n) for n in range(2, 10)]
    assert rows.columns[:5] == ["source_row", "Supplier Name", "Country", "Address", "Notes"]
    assert rows["risk_tier"].to_list() == [tier for tier, *_ in VERDICTS]
    assert rows["Supplier Name"][1] == CHINESE_NAME
    assert rows["Country"][1] == "中国"
    assert rows["Address"].to_list()[:2] == ["Changji, Xinjiang", "乌鲁木齐市"]
    assert rows["fired_rules"][6] == "sanctions_listing; review_band"


def test_csv_cites_each_match_with_list_program_date_url_and_snapshot(tmp_path, result):
    rows = read_csv(write_report(result, tmp_path / "report.csv"))
    east_hope = rows.row(0, named=True)
    assert east_hope["match_list"] == "UFLPA Entity List"
    assert east_hope["match_program"] == "UFLPA 2(d)(2)(B)(ii)"
    assert east_hope["match_listed_on"] == "2022-06-21"
    assert east_hope["match_citation"] == "Federal Register 2022-16754"
    assert east_hope["match_url"] == UFLPA_URL
    assert east_hope["match_snapshot"] == "uflpa snapshot 3, as of 2025-01-15"
    hoshine = rows.row(6, named=True)
    assert hoshine["match_name"] == "Hoshine Silicon Industry Co., Ltd."
    assert hoshine["match_url"] == f"{BIS_URL} | {PRESS_URL}"
    assert hoshine["match_snapshot"] == "sanctions snapshot 2, as of 2025-12-01"
    assert rows.row(4, named=True)["match_program"] is None


def test_csv_is_utf8_with_bom_and_header_on_the_first_line(tmp_path, result):
    raw = write_report(result, tmp_path / "report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsource_row,Supplier Name,")
    assert CHINESE_NAME.encode("utf-8") in raw


def test_csv_sidecars_record_snapshots_run_facts_and_candidates(tmp_path, result):
    write_report(result, tmp_path / "report.csv")
    sources = read_csv(tmp_path / "report.sources.csv")
    assert sources["source"].to_list() == ["sanctions", "uflpa"]
    assert sources["sha256"].to_list() == ["b" * 64, "a" * 64]
    assert sources["as_of"].to_list() == ["2025-12-01", "2025-01-15"]
    assert sources["snapshot_id"].to_list() == ["2", "3"]
    assert set(sources["rules_version"]) == {"rules-5f3a9c1e2b7d"}
    assert set(sources["match_threshold"]) == {"88.0"}
    assert set(sources["run_at"]) == {"2026-11-23T09:30:00+00:00"}
    candidates = read_csv(tmp_path / "report.candidates.csv")
    assert candidates.height == len(CANDIDATES)
    assert candidates["source_row"].to_list() == ["2", "3", "5", "8", "8"]
    assert candidates["band"].to_list()[-2:] == ["match", "review"]
    assert candidates["supplier_name"][1] == CHINESE_NAME
    assert candidates["matched_name"][1] == CHINESE_NAME


def test_csv_neutralises_formulas_in_input_and_headers(tmp_path, result):
    rows = read_csv(write_report(result, tmp_path / "report.csv"))
    assert rows["Supplier Name"][2] == "'" + HOSTILE_FORMULA
    assert rows["Notes"].to_list()[2:7] == [
        "'-2+3+cmd|' /C calc'!A0", "'@SUM(A1:A2)", "-5", "'\tindented", "'+86 991 1234567",
    ]
    hostile_header = make_result({"=cmd|' /C calc'!A0": ["Acme"], "Country": ["CN"], "Address": [""], "Notes": [""]})
    assert read_csv(write_report(hostile_header, tmp_path / "h.csv")).columns[1] == "'=cmd|' /C calc'!A0"


def test_csv_renames_input_columns_that_clash_with_report_columns(tmp_path):
    suppliers = {"Supplier Name": ["Acme"], "match_program": ["internal"], "Address": [""]}
    rows = read_csv(write_report(make_result(suppliers, with_candidates=False), tmp_path / "r.csv"))
    assert rows["source_row"].to_list() == ["2"]
    assert rows["match_program_input"].to_list() == ["internal"]
    assert rows["match_program"].to_list() == [None]


# --- JSON ------------------------------------------------------------------------------------------


def test_json_is_an_array_of_rows_with_their_matches_and_run_facts_beside_it(tmp_path, result):
    path = write_report(result, tmp_path / "report.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    facts = json.loads((tmp_path / "report.sources.json").read_text(encoding="utf-8"))
    assert list(facts) == ["metadata", "summary"]
    assert facts["metadata"]["snapshots"] == SNAPSHOTS
    assert facts["metadata"]["rules_version"] == "rules-5f3a9c1e2b7d"
    assert facts["summary"]["tiers"] == {"critical": 2, "high": 1, "medium": 2, "low": 2, "clear": 1}
    assert isinstance(rows, list)
    assert [row["row"] for row in rows] == list(range(8))
    assert rows[1]["Supplier Name"] == CHINESE_NAME
    assert rows[2]["Supplier Name"] == HOSTILE_FORMULA
    assert rows[6]["fired_rules"] == ["sanctions_listing", "review_band"]
    assert rows[0]["match_listed_on"] == "2022-06-21"
    assert rows[0]["match_url"] == UFLPA_URL
    matches = [match for row in rows for match in row["matches"]]
    assert len(matches) == len(CANDIDATES)
    first = rows[0]["matches"][0]
    assert {"entity_id", "source", "list", "matched_name", "name_kind", "score", "explanation"} <= set(first)
    assert first["listed_on"] == "2022-06-21" and first["source_url"] == UFLPA_URL
    matched_rows = {candidate[0] for candidate in CANDIDATES}
    assert all(row["matches"] == [] for row in rows if row["row"] not in matched_rows)
    assert [match["score"] for match in rows[6]["matches"]] == [99.0, 72.0]
    assert CHINESE_NAME in path.read_text(encoding="utf-8")


# --- XLSX ------------------------------------------------------------------------------------------


def sheet_records(sheet, header_row: int = 1) -> list[dict]:
    values = list(sheet.iter_rows(min_row=header_row, values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_xlsx_sheets_results_formatting_and_values(tmp_path, result):
    path = write_report(result, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Results", "Candidates", "Summary", "Sources"]
    sheet = book["Results"]
    assert sheet.freeze_panes == "A2"
    assert sheet.tables and next(iter(sheet.tables.values())).autoFilter is not None
    records = sheet_records(sheet)
    assert [record["source_row"] for record in records] == list(range(2, 10))
    assert [record["risk_tier"] for record in records] == [tier for tier, *_ in VERDICTS]
    assert records[1]["Supplier Name"] == CHINESE_NAME
    assert records[0]["match_listed_on"].date() == dt.date(2022, 6, 21)
    assert records[0]["match_url"] == UFLPA_URL
    assert records[6]["match_snapshot"] == "sanctions snapshot 2, as of 2025-12-01"
    tier_rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
    assert any(rule.formula == ['"critical"'] for rule in tier_rules)
    header = [cell.value for cell in sheet[1]]
    reasons_letter = openpyxl.utils.get_column_letter(header.index("reasons") + 1)
    row_letter = openpyxl.utils.get_column_letter(header.index("source_row") + 1)
    assert sheet.column_dimensions[reasons_letter].width > 3 * sheet.column_dimensions[row_letter].width


def test_xlsx_keeps_numbers_as_numbers_wraps_reasons_and_links_sources(tmp_path):
    height = len(SUPPLIERS["Supplier Name"])
    suppliers = SUPPLIERS | {"Spend": [str(1000 * n) for n in range(height - 1)] + [""],
                             "Ref": [f"00{n}" for n in range(height)], "Rate": ["0.5"] * height}
    book = openpyxl.load_workbook(write_report(make_result(suppliers), tmp_path / "r.xlsx"))
    sheet = book["Results"]
    header = [cell.value for cell in sheet[1]]
    cell = lambda row, name: sheet.cell(row, header.index(name) + 1)  # noqa: E731
    assert cell(3, "Spend").value == 1000 and cell(2, "Rate").value == 0.5
    assert cell(2, "Ref").value == "000" and cell(2, "Notes").value == "aluminium"
    assert cell(2, "reasons").alignment.wrap_text
    assert cell(2, "match_url").hyperlink.target == UFLPA_URL
    hoshine = cell(8, "match_url")
    assert hoshine.hyperlink.target == BIS_URL and hoshine.value == f"{BIS_URL} | {PRESS_URL}"
    assert cell(2, "Supplier Name").font.name == "Microsoft YaHei"


def test_xlsx_neutralises_formulas_and_stores_them_as_text(tmp_path, result):
    book = openpyxl.load_workbook(write_report(result, tmp_path / "report.xlsx"))
    sheet = book["Results"]
    header = [cell.value for cell in sheet[1]]
    name_cell = sheet.cell(row=4, column=header.index("Supplier Name") + 1)
    assert name_cell.value == "'" + HOSTILE_FORMULA
    assert name_cell.data_type == "s"
    notes = [sheet.cell(row=r, column=header.index("Notes") + 1).value for r in range(4, 9)]
    assert notes == ["'-2+3+cmd|' /C calc'!A0", "'@SUM(A1:A2)", "-5", "'\tindented", "'+86 991 1234567"]
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_xlsx_reads_back_with_polars(tmp_path, result):
    path = write_report(result, tmp_path / "report.xlsx")
    rows = pl.read_excel(path, sheet_name="Results")
    assert rows.height == 8
    assert rows["Supplier Name"].to_list()[:2] == [SUPPLIERS["Supplier Name"][0], CHINESE_NAME]
    candidates = pl.read_excel(path, sheet_name="Candidates")
    assert candidates["entity_id"].to_list() == [
        "uflpa:east_hope", "uflpa:zhongtai", "sanctions:trading", "sanctions:hoshine", "uflpa:east_hope",
    ]
    assert candidates["source_url"][0] == UFLPA_URL


def test_xlsx_summary_and_sources(tmp_path, result):
    book = openpyxl.load_workbook(write_report(result, tmp_path / "report.xlsx"))
    summary = book["Summary"]
    tiers = {row[0]: row[1] for row in summary.iter_rows(min_row=3, max_row=7, values_only=True)}
    assert tiers == {"critical": 2, "high": 1, "medium": 2, "low": 2, "clear": 1}
    lists = {row[0]: row[1:3] for row in summary.iter_rows(min_row=11, max_row=12, values_only=True)}
    assert lists == {"BIS Entity List": (1, 1), "UFLPA Entity List": (2, 1)}
    rules = [row[:2] for row in summary.iter_rows(min_row=16, values_only=True) if row[0]]
    assert rules == [("china_no_signal", 2), ("review_band", 2), ("uflpa_entity", 2), ("sanctions_listing", 1)]
    assert summary._charts
    sources_text = [value for row in book["Sources"].iter_rows(values_only=True) for value in row if value is not None]
    for expected in ("a" * 64, "b" * 64, "2025-01-15", UFLPA_URL, "rules-5f3a9c1e2b7d", "88.0", "70.0",
                     "2026-11-23T09:30:00+00:00", "0.1.0"):
        assert expected in sources_text


# --- HTML ------------------------------------------------------------------------------------------


class Collector(HTMLParser):
    """Tags, links and text of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "a":
            self.links.append(attributes.get("href", ""))
        self.sources.extend(value for name, value in attrs if name in {"src", "srcset"} and value)

    def handle_data(self, data):
        self.text.append(data)


def parse_html(path: Path) -> tuple[str, Collector]:
    html = path.read_text(encoding="utf-8")
    collector = Collector()
    collector.feed(html)
    return html, collector


def test_html_is_self_contained_and_escapes_hostile_names(tmp_path, result):
    html, parsed = parse_html(write_report(result, tmp_path / "report.html"))
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert parsed.sources == []
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Trading" in html
    text = "".join(parsed.text)
    assert HOSTILE_SCRIPT in text
    assert HOSTILE_FORMULA in text
    assert not any(link.startswith("javascript:") for link in parsed.links)
    assert "@media print" in html


def test_html_lists_flagged_rows_by_tier_then_input_row_with_citations(tmp_path, result):
    html, parsed = parse_html(write_report(result, tmp_path / "report.html"))
    flagged = html[html.index('id="flagged"'):html.index("Clear suppliers")]
    order = [SUPPLIERS["Supplier Name"][index] for index in (0, 1, 6)] + ["(no name)"]
    positions = [flagged.index(name.replace("&", "&amp;")) for name in order]
    assert positions == sorted(positions)
    assert flagged.index("(no name)") < flagged.index("Camel Group")
    assert "Acme Textiles" not in flagged
    assert CHINESE_NAME in flagged
    assert {UFLPA_URL, BIS_URL, PRESS_URL} <= set(parsed.links)
    for cited in ("UFLPA 2(d)(2)(B)(ii)", "listed 2022-06-21", "Federal Register 2022-16754",
                  "uflpa snapshot 3, as of 2025-01-15", "needs analyst review"):
        assert cited in flagged


def test_html_prints_compactly_with_linked_urls_and_the_clear_suppliers_listed(tmp_path, result):
    html, _ = parse_html(write_report(result, tmp_path / "report.html"))
    assert "@page { size: auto" in html and "Noto Sans CJK" in html
    clear = html[html.index("Clear suppliers"):]
    assert "Acme Textiles GmbH" in clear and "row 6" in clear
    flagged = html[html.index('id="flagged"'):html.index("Clear suppliers")]
    assert flagged.count("<li>") == 0 and "Also:" in flagged


def test_html_summary_sources_and_how_to_read(tmp_path, result):
    html, parsed = parse_html(write_report(result, tmp_path / "report.html"))
    text = " ".join(" ".join(parsed.text).split())
    for expected in ("critical 2", "high 1", "medium 2", "low 2", "clear 1", "uflpa_entity 2", "sanctions_listing 1"):
        assert expected in text
    sources = html[html.index('id="sources"'):html.index('id="how-to-read"')]
    for expected in ("a" * 64, "b" * 64, "2025-01-15", "2025-12-01", "rules-5f3a9c1e2b7d", "88.0", "70.0",
                     "2026-11-23T09:30:00+00:00"):
        assert expected in sources
    assert {"https://www.bis.gov/entity-list", "https://sanctionssearch.ofac.treas.gov/"} <= set(parsed.links)
    assert "How to read this report" in text


# --- every format ----------------------------------------------------------------------------------


def report_text(path: Path, suffix: str) -> str:
    """Everything a reader sees of a report and its sidecars, as one string."""
    if suffix == "xlsx":
        book = openpyxl.load_workbook(path)
        return " ".join(str(value) for row in book["Sources"].iter_rows(values_only=True) for value in row if value is not None)
    sidecar = {"csv": path.with_name(f"{path.stem}.sources.csv"), "json": path.with_name(f"{path.stem}.sources.json")}
    return sidecar.get(suffix, path).read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("suffix", ["csv", "json", "xlsx", "html"])
def test_every_format_states_the_age_of_each_list_and_warns_past_the_limit(tmp_path, result, suffix):
    text = report_text(write_report(result, tmp_path / f"report.{suffix}"), suffix)
    assert "312" in text and "The uflpa list is 312 days old" in text and "screener ingest uflpa" in text
    assert "The sanctions list" not in text



@pytest.mark.parametrize("suffix", ["csv", "json", "xlsx", "html"])
def test_each_format_writes_without_candidates_or_rows(tmp_path, suffix):
    quiet = make_result({"Supplier Name": ["Acme"], "Country": ["DE"]}, with_candidates=False)
    assert write_report(quiet, tmp_path / f"quiet.{suffix}").stat().st_size > 0
    empty = ScreenResult(rows=quiet.rows.clear(), candidates=quiet.candidates, metadata={})
    assert write_report(empty, tmp_path / f"empty.{suffix}").stat().st_size > 0


def test_format_argument_wins_over_suffix_and_case_is_ignored(tmp_path, result):
    path = write_report(result, tmp_path / "report.txt", "JSON")
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), list)
    facts = json.loads((tmp_path / "report.sources.json").read_text(encoding="utf-8"))
    assert facts["metadata"]["input"] == "suppliers.csv"
    assert openpyxl.load_workbook(write_report(result, tmp_path / "REPORT.XLSX")).sheetnames[0] == "Results"


@pytest.mark.parametrize("name", ["report.pdf", "report"])
def test_unknown_format_is_one_line_naming_the_supported_ones(tmp_path, result, name):
    with pytest.raises(ReportError) as error:
        write_report(result, tmp_path / name)
    message = str(error.value)
    assert "\n" not in message
    assert all(suffix in message for suffix in ("csv", "json", "xlsx", "html"))
    assert list(tmp_path.iterdir()) == []


def test_failed_xlsx_write_keeps_the_previous_report(tmp_path, result, monkeypatch):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"previous report")

    def broken(*_):
        raise RuntimeError("disk full")

    monkeypatch.setattr("screener.reports.xlsx_report.write_sources", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(result, path)
    assert path.read_bytes() == b"previous report"
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.xlsx"]


def test_failed_csv_sidecar_leaves_no_report_at_all(tmp_path, result, monkeypatch):
    def broken(*_):
        raise RuntimeError("candidates failed")

    monkeypatch.setattr("screener.reports.csv_report.report_candidates", broken)
    with pytest.raises(RuntimeError, match="candidates failed"):
        write_report(result, tmp_path / "report.csv")
    assert list(tmp_path.iterdir()) == []


def test_missing_folders_are_created(tmp_path, result):
    path = write_report(result, tmp_path / "audit" / "2026" / "report.html")
    assert path.is_file()


# --- any text --------------------------------------------------------------------------------------

def runs_as_formula(text: str) -> bool:
    return text[0] in "=+-@\t\r＝＋－＠" and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)


NAME_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAME_TEXT, min_size=1, max_size=5))
def test_any_supplier_name_survives_csv_and_json(tmp_path, names):
    suppliers = {"Supplier Name": names, "Country": ["CN"] * len(names)}
    result = make_result(suppliers, with_candidates=False)
    read_back = read_csv(write_report(result, tmp_path / "any.csv"))["Supplier Name"].to_list()
    assert read_back == [f"'{name}" if runs_as_formula(name) else name for name in names]
    document = json.loads((write_report(result, tmp_path / "any.json")).read_text(encoding="utf-8"))
    assert [row["Supplier Name"] for row in document] == names


@pytest.mark.parametrize("suffix", ["csv", "json", "xlsx", "html"])
def test_same_result_gives_the_same_report_bytes(tmp_path, result, suffix):
    first = write_report(result, tmp_path / f"first.{suffix}").read_bytes()
    second = write_report(result, tmp_path / f"second.{suffix}").read_bytes()
    assert first == second


def test_xlsx_records_the_run_time_as_its_creation_time(tmp_path, result):
    book = openpyxl.load_workbook(write_report(result, tmp_path / "report.xlsx"))
    assert book.properties.created == dt.datetime(2026, 11, 23, 9, 30)


def test_citation_is_of_the_entity_shown_in_match_name_even_on_a_score_tie(tmp_path, result):
    tie = result.candidates.filter(pl.col("row") == 1).with_columns(row=pl.lit(0, pl.UInt32), score=pl.lit(98.4))
    shown = pl.col("row") == 0
    rows = result.rows.with_columns(
        match_name=pl.when(shown).then(pl.lit(ENTITIES["uflpa:zhongtai"]["name"])).otherwise(pl.col("match_name")),
        match_entity_id=pl.when(shown).then(pl.lit("uflpa:zhongtai")).otherwise(pl.col("match_entity_id")),
    )
    tied = ScreenResult(rows=rows, candidates=pl.concat([result.candidates, tie]), metadata=result.metadata)
    first = read_csv(write_report(tied, tmp_path / "tie.csv")).row(0, named=True)
    assert (first["match_name"], first["match_citation"]) == (
        "Xinjiang Zhongtai Chemical Co., Ltd.", "Federal Register 2023-26460",
    )


def test_report_locked_by_another_program_gives_a_clear_error(tmp_path, result, monkeypatch):
    def locked(*_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("screener.reports.os.replace", locked)
    with pytest.raises(ReportError, match="open in another program"):
        write_report(result, tmp_path / "report.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_html_links_every_matched_listing_to_its_entity_section(tmp_path, result):
    html, _ = parse_html(write_report(result, tmp_path / "report.html"))
    links = re.findall(r'href="#entity-([^"]+)"', html)
    sections = dict(re.findall(r'<p class="small entity" id="entity-([^"]+)">(.*?)</p>', html, re.DOTALL))
    matched = result.candidates.filter(pl.col("band") == "match")
    assert links and set(links) == set(sections) == set(matched["entity_id"])
    for listing in matched.unique("entity_id").iter_rows(named=True):
        section = sections[listing["entity_id"]]
        assert listing["name"] in section and listing["list_name"] in section
        assert all(f'<a href="{url}">' in section for url in listing["source_url"].split(" | "))


FORMULA_LIKE = [
    "=1+1", "+123", "-1.5e3", "@SUM(A1)", "\tcmd", "\rcmd", "＝1", "＋5", "－5", "＠x", "+", "-", "+1.", ".5", "-.5",
    "+-1", "1e5", "normal", "", None, "=HYPERLINK(\"x\")", "-Infinity",
]


def test_cells_are_neutralised_as_the_formula_pattern_says() -> None:
    """A text starting like a formula (tested by its first character) and not a plain number gets a ' before it."""
    frame = pl.DataFrame({"text": FORMULA_LIKE}, schema={"text": pl.String})
    text = pl.col("text")
    expected = pl.when(text.str.contains(r"^[=+\-@\t\r＝＋－＠]") & ~text.str.contains(tables._PLAIN_NUMBER))
    expected = frame.select(expected.then(pl.lit("'") + text).otherwise(text).alias("text"))["text"].to_list()
    assert tables.neutralise_formulas(frame)["text"].to_list() == expected
    assert expected[:4] == ["'=1+1", "+123", "-1.5e3", "'@SUM(A1)"] and expected[7] == "'＋5"
    assert [tables.safe_text(value) for value in FORMULA_LIKE if value is not None] == [
        value for value in expected if value is not None
    ]
