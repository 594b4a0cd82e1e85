"""CBP WRO/Findings: link discovery from the dataset page, CSV parsing and entity-cell splitting."""

import datetime as dt

import polars as pl
import pytest

from sources import cbp_wro
from sources.base import SourceFormatError, Validators
from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok
from tests.fixtures.sources.parsed import entity, names_of

LANDING = "https://www.cbp.gov/trade/forced-labor/withhold-release-orders-and-findings"
CSV_URL = "https://www.cbp.gov/sites/default/files/2025-01/withhold-release-orders-findings-fy25-jan.csv"
CSV = fixture("cbp_wro_findings.csv")


def web(csv: bytes = CSV) -> FakeWeb:
    return FakeWeb({
        LANDING: ok(fixture("cbp_wro_landing.html")),
        cbp_wro.URL: ok(fixture("cbp_wro_document.html")),
        CSV_URL: ok(csv, etag='"wro-1"', content_type="text/csv"),
    })


def parse(csv: bytes = CSV):
    fake = web(csv)
    return cbp_wro.parse(cbp_wro.download(fake.client(), cbp_wro.URL, Validators()))


@pytest.mark.parametrize("start", [cbp_wro.URL, LANDING])
def test_the_csv_is_found_through_the_pages(start):
    fake = web()
    download = cbp_wro.download(fake.client(), start, Validators())
    assert download.url == CSV_URL
    assert download.files["data"].content == CSV
    assert download.files["data"].etag == '"wro-1"'


def test_a_direct_csv_address_is_read_as_is():
    fake = web()
    download = cbp_wro.download(fake.client(), CSV_URL, Validators())
    assert download.url == CSV_URL and len(fake.requests) == 1


def test_conditional_request_on_the_csv():
    fake = web()
    download = cbp_wro.download(fake.client(), cbp_wro.URL, Validators(etag='"wro-1"'))
    assert download.not_modified
    assert fake.hits(CSV_URL)[0].headers["If-None-Match"] == '"wro-1"'


def test_rows_become_entities_with_status_merchandise_and_dates():
    parsed = parse()
    hoshine = entity(parsed, "Hoshine Silicon Industry Co. Ltd.")
    assert (hoshine["program"], hoshine["status"], hoshine["country"]) == ("WRO", "active", "CN")
    assert hoshine["merchandise"] == "Silica-based products"
    assert hoshine["includes_affiliates"] is True
    assert hoshine["start_date"] == dt.date(2021, 6, 24)
    assert hoshine["source_url"].startswith("https://www.cbp.gov/newsroom/")
    revoked = entity(parsed, "Fuchu Prison")
    assert (revoked["status"], revoked["end_date"], revoked["country"]) == ("revoked", dt.date(1997, 10, 1), "JP")
    assert entity(parsed, "Top Glove Corporation Bhd.")["status"] == "modified"
    assert entity(parsed, "Shanghai Select Safety Products Company, Limited")["status"] == "partially active"
    assert entity(parsed, "State Penitentiary, Ciudad Victoria, Tamaulipas, Mexico")["program"] == "Finding"
    assert set(parsed.entities["list_kind"]) == {"legal"}


def test_windows_1252_bytes_are_decoded():
    remarks = entity(parse(), "Xinjiang Uyghur Autonomous Region (XUAR)")["remarks"]
    assert remarks == "Region-wide WRO on cotton and tomatoes."


def test_awkward_entity_cells_are_split():
    parsed = parse()
    assert names_of(parsed, "Yunnan Machinery", "alias") == ["Golden Horse (JinMa) Diesel Factory", "Yunnan 1st Prison"]
    assert names_of(parsed, "Tianjin Malleable Iron Factory", "alias") == [
        "Tianjin Tongbao Fittings Company", "Tianjin No. 2 Malleable Iron Plant"]
    for name in ("Yili Zhuowan Garment Manufacturing Co., Ltd.", "Baoding LYSZD Trade and Business Co., Ltd.",
                 "Union Kogyo Co., Ltd."):
        entity(parsed, name)
    assert names_of(parsed, "Shanghai Select Safety Products Company, Limited", "subsidiary") == [
        "Select (Nantong) Safety Products Co. Limited", "Select Protective Technology (HK) Limited"]
    assert names_of(parsed, "Brightway Group", "subsidiary") == [
        "Brightway Holdings Sdn Bhd", "Laglove (M) Sdn Bhd", "Biopro (M) Sdn Bhd"]
    assert entity(parsed, "Da Wang")["entity_type"] == "vessel"
    assert entity(parsed, "Xinjiang Production and Construction Corporation (XPCC)")["includes_affiliates"] is True
    assert parsed.entities.height == 15


def test_page_without_a_csv_link_is_refused():
    fake = FakeWeb({cbp_wro.URL: ok(b"<!DOCTYPE html><html><body><p>Moved.</p></body></html>")})
    with pytest.raises(SourceFormatError, match="no link to the WRO/Findings CSV"):
        cbp_wro.download(fake.client(), cbp_wro.URL, Validators())


def test_renamed_columns_are_refused():
    with pytest.raises(SourceFormatError, match="lacks the columns Entity"):
        parse(CSV.replace(b"Entity", b"Company Name", 1))


# The real dataset's shape since October 2025 (header order, UTF-8 BOM before Windows-1252 bytes, M/D/YYYY dates,
# multi-line quoted remarks, no Modified Date column), with made-up entities.
REAL_FORMAT = fixture("cbp_wro_fy26_real_format.csv")


def test_the_real_layout_with_a_bom_before_windows_1252_bytes_is_read():
    parsed = parse(REAL_FORMAT)
    assert entity(parsed, "Tara Looms")["remarks"].split() == ["Issued", "after", "a", "site", "visit.", "See", "the",
                                                               "release."]
    assert entity(parsed, "Novi Sad Metal D.O.O.")["start_date"] == dt.date(2026, 6, 16)


def test_a_list_of_companies_ending_in_their_town_is_split_and_the_town_is_an_address():
    parsed = parse(REAL_FORMAT)
    members = ["Lumbini Rug Pvt.", "Gorkha Weaving Pvt., Ltd.", "Tara Looms", "S.S. Rug Industries"]
    for name in members:
        assert entity(parsed, name)["addresses"] == "Pokhara" and entity(parsed, name)["country"] == "NP"
    assert parsed.entities.filter(pl.col("name").str.contains("Pokhara")).is_empty()


def test_fleet_cells_become_the_owner_or_the_vessels():
    parsed = parse(REAL_FORMAT)
    owner = entity(parsed, "Coral Sea Fishing Co. Ltd.")
    assert owner["entity_type"] == "organization"
    for vessel in ("Sea Star 3", "Blue Wave", "Hai Feng 8"):
        assert entity(parsed, vessel)["entity_type"] == "vessel"
    assert parsed.entities.filter(pl.col("name").str.starts_with("All products")).is_empty()


def test_a_place_in_parentheses_is_an_address_not_part_of_the_name():
    ukiyo = entity(parse(REAL_FORMAT), "Ukiyo Tea Trading Co., Ltd.")
    assert (ukiyo["addresses"], ukiyo["status"]) == ("Shizuoka, Japan", "inactive")


def test_status_semantics_and_a_citation_on_every_order():
    parsed = parse(REAL_FORMAT)
    assert entity(parsed, "Kenanga Glove Sdn. Bhd.")["status"] == "modified"
    assert entity(parsed, "Tobacco grown in Malawi")["status"] == "partially active"
    assert entity(parsed, "Novi Sad Metal D.O.O.")["citation"] == "CBP WRO effective 2026-06-16"
    assert (parsed.entities["citation"] != "").all()


def test_the_earlier_date_column_name_is_accepted():
    parsed = parse(REAL_FORMAT.replace(b"Effective Date,", b"Date,", 1))
    assert entity(parsed, "Novi Sad Metal D.O.O.")["start_date"] == dt.date(2026, 6, 16)
