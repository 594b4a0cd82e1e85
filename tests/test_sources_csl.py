"""trade.gov Consolidated Screening List CSV."""

import datetime as dt

import polars as pl
import pytest

from sources import csl
from sources.base import Download, SourceFormatError
from sources.fetch_policy import Fetched
from tests.fixtures.sources.mock_http import fixture
from tests.fixtures.sources.parsed import entity

CSV = fixture("csl_consolidated.csv")


def parse(content: bytes = CSV):
    return csl.parse(Download(url=csl.URL, files={"data": Fetched(url=csl.URL, content=content)}))


def test_lists_authorities_and_programs():
    parsed = parse()
    assert parsed.entities.height == 10
    xpcc = entity(parsed, "XINJIANG PRODUCTION AND CONSTRUCTION CORPS")
    assert (xpcc["list_name"], xpcc["authority"], xpcc["program"]) == ("OFAC SDN List", "US-OFAC", "GLOMAG")
    assert xpcc["start_date"] == dt.date(2020, 7, 31)
    police = entity(parsed, "Xinjiang Police College")
    assert (police["list_name"], police["authority"], police["program"]) == ("BIS Entity List", "US-BIS", "EL")
    assert police["citation"] == "84 FR 54002"
    assert police["addresses"] == "Xinshi District, Changsha Road, No. 1108, Urumqi, Xinjiang, CN"
    assert entity(parsed, "SHENZHEN DAJIANG INNOVATION TECHNOLOGY CO., LTD.")["list_name"] == "OFAC NS-CMIC List"
    assert set(parsed.entities["list_kind"]) == {"legal"}


def test_country_types_and_status():
    parsed = parse()
    assert entity(parsed, "Hangzhou Hikvision Digital Technology Co., Ltd.")["country"] == "CN"
    chen = entity(parsed, "CHEN, Quanguo")
    assert (chen["entity_type"], chen["country"]) == ("person", "CN")
    vessel = entity(parsed, "ADRIAN DARYA 1")
    assert (vessel["entity_type"], vessel["country"]) == ("vessel", "")
    expired = entity(parsed, "LI QIANG")
    assert (expired["status"], expired["end_date"]) == ("inactive", dt.date(2025, 5, 4))
    assert entity(parsed, "Hangzhou Hikvision Digital Technology Co., Ltd.")["includes_affiliates"] is True


def test_alt_names_become_aliases_with_script():
    parsed = parse()
    chen = entity(parsed, "CHEN, Quanguo")["entity_id"]
    aliases = parsed.names.filter((pl.col("entity_id") == chen) & (pl.col("kind") == "alias"))
    assert sorted(zip(aliases["name"], aliases["lang"], strict=True)) == [("CHEN, Quan-guo", "en"), ("陈全国", "zh")]
    xpcc = entity(parsed, "XINJIANG PRODUCTION AND CONSTRUCTION CORPS")["entity_id"]
    assert set(parsed.names.filter(pl.col("entity_id") == xpcc)["name"]) >= {"XPCC", "BINGTUAN", "CHINA XINJIAN GROUP"}


def test_same_name_on_two_lists_is_two_entities_and_duplicates_merge():
    lines = CSV.decode().splitlines()
    el_row = next(line for line in lines if "Xinjiang Police College" in line)
    sdn_copy = el_row.replace("Entity List (EL) - Bureau of Industry and Security",
                              "Specially Designated Nationals (SDN) - Treasury Department")
    parsed = parse("\n".join([*lines, el_row, sdn_copy]).encode())
    assert sorted(parsed.entities.filter(pl.col("name") == "Xinjiang Police College")["list_name"]) == [
        "BIS Entity List", "OFAC SDN List"]
    assert parsed.entities["entity_id"].is_unique().all()


def test_renamed_columns_are_refused():
    with pytest.raises(SourceFormatError, match="lacks the columns alt_names"):
        parse(CSV.replace(b"alt_names", b"aliases", 1))


def test_truncated_csv_is_refused():
    cut = CSV[: CSV.index(b"Hangzhou") + 40]
    with pytest.raises(SourceFormatError, match="not a readable CSV"):
        parse(cut)


# The real v1 layout (header order, empty `type` on BIS, State and DDTC rows, "; and"-joined addresses and
# aliases, legal tails), with made-up entries.
REAL_FORMAT = fixture("csl_v1_real_format.csv")


def test_untyped_people_on_person_lists_are_people_and_companies_stay_companies():
    parsed = parse(REAL_FORMAT)
    assert entity(parsed, "J. QUILLAN")["entity_type"] == "person"
    assert entity(parsed, "Marisol Arbelo Quintana")["entity_type"] == "person"
    assert entity(parsed, "Lotus Import and Export Company")["entity_type"] == "organization"
    assert entity(parsed, "Harbin Research Institute 77")["entity_type"] == "organization"


def test_multi_address_rows_keep_their_country_and_and_aliases_lose_the_and():
    parsed = parse(REAL_FORMAT)
    harbin = entity(parsed, "Harbin Research Institute 77")
    assert harbin["country"] == "CN"
    aliases = parsed.names.filter(pl.col("entity_id") == harbin["entity_id"])["name"].to_list()
    assert "Harbin Institute Seventy-Seven" in aliases and not [name for name in aliases if name.startswith("and ")]


def test_a_successors_tail_ends_the_name_and_covers_affiliates():
    lotus = entity(parse(REAL_FORMAT), "Lotus Import and Export Company")
    assert lotus["includes_affiliates"] is True


def test_one_name_listed_twice_with_different_addresses_stays_two_entities():
    parsed = parse(REAL_FORMAT)
    twins = parsed.entities.filter(pl.col("name") == "Bright Harbor Trading Co., Ltd.")
    assert sorted(twins["country"]) == ["AE", "HK"] and twins["entity_id"].n_unique() == 2
