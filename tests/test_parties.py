"""Shipments: every party of a row screened, each distinct party once, the row given its worst party's verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest

from screener.columns import ColumnMapping
from screener.parties import Party, detect_parties
from screener.reports import write_report
from screener.screening import Screener, screen_to_report
from screener.supplier_io import InputFileError, read_supplier_batches, read_supplier_table
from tests.test_service import client, service_db  # noqa: F401 (the service's fixtures)
from tests.test_service_jobs import finished, submit, token  # noqa: F401

SHIPMENTS = pl.DataFrame(
    {
        "BOL No": ["B1", "B2", "B3", "B4", "B5"],
        "Shipper": ["Shenzhen Bright Trading Co Ltd", "Nordic Timber AB", "Shenzhen Bright Trading Co Ltd", "", "Nordic Timber AB"],
        "Shipper Address": ["Futian, Shenzhen", "Stockholm", "Futian, Shenzhen", "", "Stockholm"],
        "Shipper Country": ["CN", "SE", "CN", "", "SE"],
        "Consignee": ["Acme Imports LLC", "Acme Imports LLC", "Acme Imports LLC", "", "Acme Imports LLC"],
        "Consignee Address": ["Newark, NJ, USA", "Newark, NJ, USA", "Newark, NJ, USA", "", "Newark, NJ, USA"],
        "Manufacturer": [
            "Xinjiang Zhongtai Chemical Co Ltd", "", "Hoshine Silicon Industry (Shanshan) Co Ltd", "", "",
        ],
        "Country of Origin": ["CN", "SE", "CN", "CN", "SE"],
        "Goods Description": ["PVC resin SG-5", "pine boards", "silicon metal", "cotton t-shirts", "pine boards"],
        "HS Code": ["3904.10", "4407.11", "2804.69", "6109.10", "4407.11"],
    }
)


@pytest.fixture(scope="module")
def screener(embedded_db) -> Screener:
    return Screener.from_db(embedded_db)


@pytest.fixture(scope="module")
def shipments(screener):
    return screener.screen(SHIPMENTS, detect_parties(SHIPMENTS), input_name="shipments.csv")


def test_bill_of_lading_headers_are_found_with_their_address_and_country_columns():
    mapping = detect_parties(SHIPMENTS)
    assert mapping.parties == (
        Party("shipper", "Shipper", address="Shipper Address", country="Shipper Country"),
        Party("consignee", "Consignee", address="Consignee Address"),
        Party("manufacturer", "Manufacturer"),
    )
    assert (mapping.origin_country, mapping.product, mapping.hs_code) == ("Country of Origin", "Goods Description", "HS Code")


def test_chinese_and_snake_case_party_headers_are_found():
    frame = pl.DataFrame(schema=dict.fromkeys(["发货人", "发货人地址", "收货人", "生产厂家", "品名", "notify_party_name", "hs_code"], pl.String))
    mapping = detect_parties(frame)
    assert [(party.role, party.name, party.address) for party in mapping.parties] == [
        ("shipper", "发货人", "发货人地址"), ("consignee", "收货人", None), ("notify party", "notify_party_name", None),
        ("manufacturer", "生产厂家", None),
    ]
    assert (mapping.product, mapping.hs_code) == ("品名", "hs_code")


def test_a_supplier_list_with_one_name_column_is_not_read_as_shipments():
    frame = pl.DataFrame(schema=dict.fromkeys(["Supplier Name", "Manufacturer", "Country", "Product"], pl.String))
    assert detect_parties(frame) is None


def test_party_columns_given_with_or_without_a_role():
    mapping = detect_parties(SHIPMENTS, ["Shipper", "maker=Manufacturer"])
    assert [(party.role, party.name) for party in mapping.parties] == [("shipper", "Shipper"), ("maker", "Manufacturer")]
    with pytest.raises(InputFileError, match="no party column 'Seller'"):
        detect_parties(SHIPMENTS, ["Seller"])


def test_the_row_gets_its_worst_partys_tier_score_and_match_and_reasons_name_the_party(shipments):
    first = shipments.rows.row(0, named=True)
    assert first["risk_tier"] == "critical" and first["match_source"] == "uflpa"
    assert first["match_party"] == "manufacturer: Xinjiang Zhongtai Chemical Co Ltd"
    reasons = first["reasons"]
    assert reasons[0].startswith("manufacturer: Xinjiang Zhongtai Chemical Co Ltd — UFLPA Entity List")
    assert "uflpa_entity" in first["fired_rules"]


def test_goods_description_and_hs_code_feed_the_sector_rules_for_each_party_in_china(shipments):
    sector = [reason for reason in shipments.rows["reasons"][0] if "high-priority sector" in reason]
    assert len(sector) == 1, "one reason for the row, naming every party it concerns"
    assert sector[0].startswith("manufacturer: Xinjiang Zhongtai Chemical Co Ltd; shipper: Shenzhen Bright Trading Co Ltd — ")
    assert "HS code 3904.10" in sector[0] and "consignee" not in sector[0]


def test_a_row_whose_parties_are_all_clear_is_clear(shipments):
    second = shipments.rows.row(1, named=True)
    assert (second["risk_tier"], second["reasons"], second["match_party"]) == ("clear", [], "shipper: Nordic Timber AB")


def test_a_row_naming_no_party_is_kept_and_marked_for_review(shipments):
    fourth = shipments.rows.row(3, named=True)
    assert fourth["name_missing"] and fourth["risk_tier"] == "medium"
    assert fourth["reasons"][0].startswith("No supplier name in this row")


def test_each_distinct_party_is_screened_once(shipments):
    named = sum((SHIPMENTS[party.name] != "").sum() for party in detect_parties(SHIPMENTS).parties)
    assert named == 10
    # the last row repeats the second row's parties and goods; the row naming nobody is screened for its goods
    assert shipments.metadata["parties_screened"] == 9
    assert shipments.rows.height == SHIPMENTS.height
    assert shipments.rows["BOL No"].to_list() == SHIPMENTS["BOL No"].to_list()


def test_a_partys_verdict_is_the_one_it_gets_screened_as_a_supplier(screener, shipments):
    alone = SHIPMENTS.select(name="Manufacturer", country="Country of Origin", product="Goods Description", hs_code="HS Code")
    single = screener.screen(alone, ColumnMapping(name="name", country="country", product="product", hs_code="hs_code"))
    for row in (0, 2):
        assert shipments.rows["risk_score"][row] == single.rows["risk_score"][row]
        assert shipments.rows["match_entity_id"][row] == single.rows["match_entity_id"][row]
        assert [reason.split(" — ", 1)[1] for reason in shipments.rows["reasons"][row]][:2] == (
            single.rows["reasons"][row].to_list()[:2]
        )


def test_candidates_say_which_party_they_match(shipments):
    manufacturers = shipments.candidates.filter(pl.col("band") == "match")
    assert set(manufacturers["party"]) == {"manufacturer"}
    assert set(manufacturers["row"]) == {0, 2}
    assert "Hoshine Silicon Industry (Shanshan) Co Ltd" in manufacturers["party_name"].to_list()


def test_an_input_column_named_like_an_added_one_is_kept(screener):
    frame = SHIPMENTS.with_columns(match_party=pl.lit("mine"))
    rows = screener.screen(frame, detect_parties(frame)).rows
    assert rows["match_party_input"].to_list() == ["mine"] * SHIPMENTS.height
    assert rows["match_party"][0].startswith("manufacturer: ")


@pytest.mark.parametrize("suffix", ["csv", "json", "xlsx", "html"])
def test_every_report_names_the_party(shipments, tmp_path, suffix):
    path = write_report(shipments, tmp_path / f"shipments.{suffix}")
    if suffix == "json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        assert rows[0]["match_party"] == "manufacturer: Xinjiang Zhongtai Chemical Co Ltd"
    elif suffix in ("csv", "html"):
        assert "manufacturer: Xinjiang Zhongtai Chemical Co Ltd — UFLPA Entity List" in path.read_text(encoding="utf-8")
    else:
        assert path.stat().st_size > 0


def screener_cli(*args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "screener", *args], capture_output=True, text=True, env=environment, timeout=300)


def test_the_cli_screens_every_party_of_a_shipment_file(lists_db, tmp_path):
    source = tmp_path / "shipments.csv"
    SHIPMENTS.write_csv(source)
    report = tmp_path / "report.csv"
    done = screener_cli("screen", str(source), "--out", str(report), "--db", str(lists_db))
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(report, infer_schema=False)
    assert rows["risk_tier"].to_list() == ["critical", "clear", "critical", "medium", "clear"]
    assert rows["match_party"][2] == "manufacturer: Hoshine Silicon Industry (Shanshan) Co Ltd"
    candidates = pl.read_csv(tmp_path / "report.candidates.csv", infer_schema=False)
    assert set(candidates["party"]) == {"manufacturer"}
    done = screener_cli("screen", str(source), "--party-col", "Shipper", "--out", str(report), "--db", str(lists_db))
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(report, infer_schema=False)
    assert rows["risk_tier"].to_list() == ["medium", "clear", "medium", "medium", "clear"], "only the shipper is screened"
    assert rows["match_party"][0] == "shipper: Shenzhen Bright Trading Co Ltd"


def test_the_cli_refuses_an_unknown_party_column_in_one_line(lists_db, tmp_path):
    source = tmp_path / "shipments.csv"
    SHIPMENTS.write_csv(source)
    done = screener_cli("screen", str(source), "--party-col", "Seller", "--db", str(lists_db))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "no party column 'Seller'" in lines[0]


def many_shipments(rows: int) -> pl.DataFrame:
    """The shipments above repeated in a scrambled order, so that batches share parties and each has some of its own."""
    picks = [(index * 3 + index // 7) % SHIPMENTS.height for index in range(rows)]
    return SHIPMENTS[picks].with_columns(pl.format("B{}", pl.int_range(rows)).alias("BOL No"))


def test_a_shipment_file_screened_in_small_batches_is_row_for_row_the_file_screened_at_once(screener, embedded_db, tmp_path):
    source = tmp_path / "shipments.csv"
    many_shipments(150).write_csv(source)
    batches = read_supplier_batches(source, batch_rows=16)
    mapping = detect_parties(batches.header)
    parts = list(screener.screen_batches(batches.batches, mapping))
    whole = read_supplier_table(source).frame
    at_once = screener.screen(whole, mapping)
    assert len(parts) == 10, "screened batch by batch"
    assert pl.concat([part.rows for part in parts]).equals(at_once.rows)
    assert pl.concat([part.candidates for part in parts]).equals(at_once.candidates)
    assert parts[-1].metadata["parties_screened"] == at_once.metadata["parties_screened"] == 9, "each party once"
    for batch_rows, folder in ((16, "batches"), (1_000, "whole")):
        screen_to_report(source, tmp_path / folder / "report.csv", embedded_db, batch_rows=batch_rows)
    for kind in ("", ".candidates"):
        assert (tmp_path / "batches" / f"report{kind}.csv").read_bytes() == (tmp_path / "whole" / f"report{kind}.csv").read_bytes()


def test_the_service_screens_every_party_of_a_shipment_file(client, token):
    job = finished(client, submit(client, token, "shipments.csv", SHIPMENTS.write_csv().encode()))
    assert job["status"] == "done", job["error"]
    rows = client.get(f"/jobs/{job['job_id']}/report.json").json()
    assert [row["risk_tier"] for row in rows] == ["critical", "clear", "critical", "medium", "clear"]
    assert rows[2]["match_party"] == "manufacturer: Hoshine Silicon Industry (Shanshan) Co Ltd"


@pytest.mark.parametrize("parties", [[], ["--party-col", "shipper", "--party-col", "consignee"]], ids=["suppliers", "shipments"])
def test_a_file_with_its_own_row_column_is_screened_and_keeps_it(lists_db, tmp_path, parties):
    """Supplier masters often number their rows in a column named 'row': it is kept as row_input, not a clash."""
    source = tmp_path / "numbered.csv"
    pl.DataFrame({"row": ["7", "8"], "shipper": ["Acme Widgets Ltd", "Nordic Timber AB"],
                  "consignee": ["Xinjiang Zhongtai Chemical Co., Ltd.", "Acme Widgets Ltd"]}).write_csv(source)
    report = tmp_path / "report.csv"
    mapping = parties or ["--name-col", "consignee"]
    done = screener_cli("screen", str(source), *mapping, "--out", str(report), "--db", str(lists_db))
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(report, infer_schema=False)
    assert rows["row_input"].to_list() == ["7", "8"]
    assert rows["risk_tier"][0] == "critical"
