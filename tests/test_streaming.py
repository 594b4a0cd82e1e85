"""Screening a file batch by batch, each distinct party once, gives the very bytes of screening it whole, row by row;
the reader's two parsers agree; Parquet in and out; a format too small for the file is refused before screening."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener import reports
from screener.columns import detect_columns
from screener.reports import ReportError, write_report
from screener.screening import Screener, screen_to_report
from screener.supplier_io import (
    SOURCE_ROW,
    _csv_frames,
    _layout,
    _plain_frames,
    _plain_repairs,
    read_supplier_batches,
    read_supplier_table,
)
from tests.conftest import EXAMPLE_SUPPLIERS

PARTIES = [
    ["Xinjiang Zhongtai Chemical Company Limited", "CN", "Urumqi, Xinjiang", "PVC resin", "", "Zhongtai Group"],
    ["HOSHINE SILICON INDUSTRY (SHANSHAN) CO LTD", "CN", "Shanshan County, Turpan", "silicon metal", "2804.69", ""],
    ["Hoshine Silicon Industry (Shanshan) Co., Ltd.", "CN", "Shanshan County, Turpan", "silicon metal", "", ""],
    ["Ninestar Corp", "CN", "Zhuhai, Guangdong", "printer cartridges", "8443.99", ""],
    ["新疆中泰化学股份有限公司", "", "新疆乌鲁木齐", "", "", ""],
    ["Hotan Cotton Mill", "CN", "Hotan", "cotton yarn", "5205", "Xinjiang Production and Construction Corps"],
    ["Golden Harbour Textiles Ltd", "VN", "Ho Chi Minh City", "knitted shirts", "6109.10", ""],
    ["Golden Harbour Textiles Ltd", "VN", "Hanoi", "knitted shirts", "6109.10", ""],
    ["Shenzhen Huadian Electronic Technology Co., Ltd.", "CN", "", "", "", ""],
    ["", "CN", "Kashgar, Xinjiang", "cotton", "", ""],
    ["Aksu Huafu Textiles Co", "", "Aksu", "cotton yarn", "", "Huafu Fashion"],
    ["Pacific Apparel Inc.", "US", "Los Angeles", "", "", ""],
]
HEADER = ["supplier_name", "country", "address", "product", "hs_code", "parent company"]


def generated_suppliers(path: Path, rows: int) -> Path:
    """A supplier file repeating a few parties (listed, unlisted, nameless) in a scrambled order, with spare columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["supplier_id", *HEADER])
    for number in range(rows):
        writer.writerow([f"S{number}", *PARTIES[(number * 7 + number // 24) % len(PARTIES)]])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def whole_and_row_by_row(source: Path, db: Path, out: Path) -> Path:
    """The report of the plain path: the file read whole and screened as one batch, every row on its own."""
    table = read_supplier_table(source)
    result = Screener.from_db(db).screen(table.frame, detect_columns(table.frame), input_name=source.name,
                                         distinct=False)
    return write_report(replace(result, metadata={**result.metadata, "input_repairs": list(table.repairs)}), out)


def without_run_time(path: Path) -> object:
    if path.suffix == ".json":
        facts = json.loads(path.read_text(encoding="utf-8"))
        facts["metadata"].pop("run_at")
        return facts
    return pl.read_csv(path, infer_schema=False).drop("run_at")


@pytest.mark.parametrize("source", ["example", "generated"])
@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_batched_deduplicated_screening_writes_the_bytes_of_the_whole_row_by_row_path(
    embedded_db, tmp_path, source, suffix
):
    path = EXAMPLE_SUPPLIERS if source == "example" else generated_suppliers(tmp_path / "generated.csv", 700)
    streamed = tmp_path / "streamed" / f"report.{suffix}"
    summary = screen_to_report(path, streamed, embedded_db, batch_rows=64)
    whole = whole_and_row_by_row(path, embedded_db, tmp_path / "whole" / f"report.{suffix}")
    assert summary.rows == read_supplier_table(path).frame.height
    kinds = ("candidates", "sources") if suffix == "csv" else ("sources",)
    for kind in ("", *(f".{kind}" for kind in kinds)):
        one, other = streamed.with_name(f"report{kind}.{suffix}"), whole.with_name(f"report{kind}.{suffix}")
        if kind == ".sources":
            assert without_run_time(one) == without_run_time(other) if suffix == "json" else (
                without_run_time(one).equals(without_run_time(other)))
        else:
            assert one.read_bytes() == other.read_bytes(), f"report{kind}.{suffix} differs"
    if source == "generated" and suffix == "csv":  # every repetition of a listed party keeps its candidates
        candidates = pl.read_csv(streamed.with_name("report.candidates.csv"), infer_schema=False)
        assert candidates["source_row"].n_unique() > 300


def test_each_distinct_party_is_matched_once(embedded_db, tmp_path, monkeypatch):
    frame = read_supplier_table(generated_suppliers(tmp_path / "generated.csv", 300)).frame
    screener = Screener.from_db(embedded_db)
    matched: list[int] = []
    match = screener.matcher.match
    monkeypatch.setattr(screener.matcher, "match", lambda queries, **options: matched.append(queries.height)
                        or match(queries, **options))
    result = screener.screen(frame, detect_columns(frame))
    named, with_parent = [party for party in PARTIES if party[0]], [party for party in PARTIES if party[0] and party[5]]
    assert result.rows.height == 300 and sum(matched) == len(named) + len(with_parent)
    assert result.rows["row"].to_list() == list(range(300))
    assert result.rows[SOURCE_ROW].to_list() == list(range(2, 302))


def test_a_party_met_in_an_earlier_batch_is_not_screened_again(embedded_db, tmp_path, monkeypatch):
    source = read_supplier_batches(generated_suppliers(tmp_path / "generated.csv", 300), batch_rows=40)
    screener = Screener.from_db(embedded_db)
    matched: list[int] = []
    match = screener.matcher.match
    monkeypatch.setattr(screener.matcher, "match", lambda queries, **options: matched.append(queries.height)
                        or match(queries, **options))
    parts = list(screener.screen_batches(source.batches, detect_columns(source.header)))
    named, with_parent = [party for party in PARTIES if party[0]], [party for party in PARTIES if party[0] and party[5]]
    assert len(parts) == 8 and sum(matched) == len(named) + len(with_parent)
    assert pl.concat([part.rows for part in parts])["row"].to_list() == list(range(300))


def test_parquet_in_and_out_holds_what_csv_does(embedded_db, tmp_path):
    source = tmp_path / "suppliers.parquet"
    pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False).write_parquet(source)
    screen_to_report(EXAMPLE_SUPPLIERS, tmp_path / "csv" / "report.csv", embedded_db)
    screen_to_report(source, tmp_path / "parquet" / "report.parquet", embedded_db)
    for kind in ("", ".candidates"):
        from_csv = pl.read_csv(tmp_path / "csv" / f"report{kind}.csv", infer_schema=False)
        from_parquet = pl.read_parquet(tmp_path / "parquet" / f"report{kind}.parquet")
        assert from_parquet.columns == from_csv.columns
        assert from_parquet["risk_tier" if not kind else "entity_id"].to_list() == from_csv[
            "risk_tier" if not kind else "entity_id"].to_list()
    assert pl.read_parquet(tmp_path / "parquet" / "report.sources.parquet").height >= 3


def test_a_report_format_too_small_for_the_file_is_refused_before_screening(tmp_path, monkeypatch):
    monkeypatch.setitem(reports.ROW_LIMITS, "xlsx", 40)
    db = tmp_path / "never-opened.duckdb"
    with pytest.raises(ReportError, match="45 rows do not fit in an XLSX report.*write CSV or Parquet"):
        screen_to_report(EXAMPLE_SUPPLIERS, tmp_path / "report.xlsx", db)
    assert not db.exists() and not (tmp_path / "report.xlsx").exists()


FIELD = st.one_of(
    st.sampled_from(["", " ", "Co., Ltd.", 'say "hi"', "a;b", "x\ty", "中泰", "=1+1", "'quoted'", "é"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12),
)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(st.lists(FIELD, min_size=1, max_size=5), min_size=1, max_size=30),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_the_polars_parser_reads_well_quoted_lines_as_the_csv_module_does(records, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([["name", "country", "address"], *records])
    stream = io.BytesIO(buffer.getvalue().encode("utf-8"))
    layout = _layout(stream, "x.csv")
    if layout.delimiter != delimiter or not layout.plain:
        return
    columns = ["name", "country", "address"]
    csv_repairs: list[str] = []
    by_polars = pl.concat(list(_plain_frames(stream, layout, columns, [])))
    by_csv = pl.concat(list(_csv_frames(stream, layout, columns, csv_repairs)))
    assert by_polars.equals(by_csv) and _plain_repairs(layout, len(columns)) == csv_repairs


def test_a_large_csv_is_read_in_batches_with_its_rows_counted_first(tmp_path):
    path = generated_suppliers(tmp_path / "generated.csv", 2_500)
    batches = read_supplier_batches(path, batch_rows=1_000)
    assert batches.rows == 2_500 and batches.header.columns == [SOURCE_ROW, "supplier_id", *HEADER]
    heights = [batch.height for batch in batches.batches]
    assert heights == [1_000, 1_000, 500]



def test_parties_differing_only_in_their_goods_are_matched_once(embedded_db, monkeypatch):
    goods = [["PVC resin", "3904.10"], ["caustic soda", "2815.11"], ["cotton yarn", "5205"]]
    frame = pl.DataFrame([party[:3] + product + party[5:] for party in PARTIES[:2] for product in goods],
                         schema=HEADER, orient="row")
    screener = Screener.from_db(embedded_db)
    row_by_row = screener.screen(frame, detect_columns(frame), distinct=False)
    matched: list[int] = []
    match = screener.matcher.match
    monkeypatch.setattr(screener.matcher, "match", lambda queries, **options: matched.append(queries.height)
                        or match(queries, **options))
    result = screener.screen(frame, detect_columns(frame))
    assert sum(matched) == 2 + 1  # two names, one of them with a parent company
    assert result.rows.equals(row_by_row.rows) and result.candidates.equals(row_by_row.candidates)
    assert result.candidates["row"].unique().sort().to_list() == list(range(6))


def test_a_party_met_in_an_earlier_batch_with_other_goods_is_not_matched_again(embedded_db, tmp_path, monkeypatch):
    goods = [["PVC resin", "3904.10"], ["caustic soda", "2815.11"], ["cotton yarn", "5205"]]
    path = tmp_path / "goods.csv"
    pl.DataFrame([party[:3] + product + party[5:] for product in goods for party in PARTIES[:2]],
                 schema=HEADER, orient="row").write_csv(path)
    screener = Screener.from_db(embedded_db)
    row_by_row = screener.screen(read_supplier_table(path).frame, detect_columns(read_supplier_table(path).frame),
                                 distinct=False)
    matched: list[int] = []
    match = screener.matcher.match
    monkeypatch.setattr(screener.matcher, "match", lambda queries, **options: matched.append(queries.height)
                        or match(queries, **options))
    source = read_supplier_batches(path, batch_rows=2)
    parts = list(screener.screen_batches(source.batches, detect_columns(source.header)))
    assert len(parts) == 3 and sum(matched) == 2 + 1  # two names, one of them with a parent company
    assert pl.concat([part.rows for part in parts]).equals(row_by_row.rows)
    assert pl.concat([part.candidates for part in parts]).equals(row_by_row.candidates)


def test_past_its_limit_a_run_forgets_the_older_half_of_the_parties_and_queries_it_remembers():
    from screener.screening import _newest

    kept = pl.DataFrame({"known": list(range(10))})
    attached = pl.DataFrame({"known": [0, 5, 6, 9], "candidate": ["a", "b", "c", "d"]})
    newest, still_attached = _newest(kept, attached, limit=8)
    assert newest["known"].to_list() == [6, 7, 8, 9]
    assert still_attached["candidate"].to_list() == ["c", "d"]
    unchanged, untouched = _newest(kept, attached, limit=10)
    assert unchanged.equals(kept) and untouched.equals(attached)
