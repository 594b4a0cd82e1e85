"""One answer whatever the path: a supplier screened alone (`Screener.check`, a one-row file — where rules without
input and empty candidate sets are skipped) gets exactly what it gets inside a whole file, and an index read from the
disk cache gives exactly what a freshly built one gives."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from screener.columns import ColumnMapping, detect_columns
from screener.screening import Screener, load_lists
from screener.supplier_io import read_supplier_table
from tests.conftest import EXAMPLE_SUPPLIERS

VERDICT = ["risk_tier", "risk_score", "match_name", "match_list", "match_score", "match_entity_id", "reasons", "fired_rules"]
CANDIDATE_ORDER = ["entity_id", "matched_name", "via"]
GENERATED = pl.DataFrame(
    {
        "name": [
            "XINJIANG ZHONGTAI CHEM CO LTD",
            "新疆中泰化学股份有限公司",
            "Shihezi Xinren Cotton Textile Co., Ltd.",
            "Hoshine Silicon Industry (Luzhou) Co Ltd",
            "Nordic Timber AB",
            "Karamay Road Trading (Shanghai) Co., Ltd.",
            "Hetian Taida Apparel",
            "Qingdao Huada Rubber Production",
            "合盛硅业股份有限公司",
            None,
            "Zhuhai Ninestar Management",
            "Saigon Garment",
        ],
        "country": ["CN", "中国", None, "CN", "SE", "CN", "China", "CN", None, "CN", "CN", "VN"],
        "address": [
            "Urumqi, Xinjiang",
            None,
            "Shihezi",
            "Luzhou, Sichuan",
            None,
            "Karamay Road, Shanghai",
            "Hotan 848000",
            None,
            "新疆鄯善县",
            "Aksu",
            None,
            "Ho Chi Minh City",
        ],
        "product": [
            "PVC resin", None, "cotton yarn", "silicon metal", "timber", None, "T-shirts", "tyres", None, None,
            "printer cartridges", "garments",
        ],
        "uscc": [
            "91650100MA77Q4R27J", None, None, "91650100MA77Q4R27K", None, None, None, None, "9165", None, None, None,
        ],
    }
)


@pytest.fixture(scope="module")
def screener(embedded_db) -> Screener:
    return Screener.from_db(embedded_db)


def screened(screener: Screener, frame: pl.DataFrame, mapping: ColumnMapping) -> tuple[pl.DataFrame, pl.DataFrame]:
    result = screener.screen(frame, mapping)
    candidates = result.candidates.sort("row", *CANDIDATE_ORDER)
    return result.rows.select("row", *VERDICT), candidates


def assert_alone_as_in_the_file(screener: Screener, frame: pl.DataFrame, mapping: ColumnMapping) -> None:
    rows, candidates = screened(screener, frame, mapping)
    for row in range(frame.height):
        alone_rows, alone_candidates = screened(screener, frame.slice(row, 1), mapping)
        assert_frame_equal(alone_rows.drop("row"), rows.filter(pl.col("row") == row).drop("row"))
        in_file = candidates.filter(pl.col("row") == row).drop("row")
        assert_frame_equal(alone_candidates.drop("row"), in_file, check_dtypes=False)


def test_each_example_supplier_alone_gets_what_it_gets_in_the_file(screener) -> None:
    frame = read_supplier_table(EXAMPLE_SUPPLIERS).frame
    assert_alone_as_in_the_file(screener, frame, detect_columns(frame))


def test_generated_suppliers_alone_get_what_they_get_in_the_file(screener) -> None:
    assert_alone_as_in_the_file(screener, GENERATED, detect_columns(GENERATED))


def test_check_gets_what_the_same_name_country_and_address_get_in_a_file(screener) -> None:
    frame = GENERATED.select("name", "country", "address").drop_nulls("name")
    rows, candidates = screened(screener, frame, ColumnMapping(name="name", country="country", address="address"))
    for row, supplier in enumerate(frame.iter_rows(named=True)):
        checked = screener.check(supplier["name"], supplier["country"], supplier["address"])
        assert_frame_equal(checked.rows.select(VERDICT), rows.filter(pl.col("row") == row).select(VERDICT))
        expected = candidates.filter(pl.col("row") == row).drop("row")
        assert_frame_equal(checked.candidates.sort(CANDIDATE_ORDER).drop("row"), expected, check_dtypes=False)


def test_the_index_from_the_disk_cache_screens_as_a_fresh_one(embedded_db, tmp_path) -> None:
    frame = read_supplier_table(EXAMPLE_SUPPLIERS).frame
    mapping = detect_columns(frame)
    lists = load_lists(embedded_db)
    fresh = screened(Screener(lists), frame, mapping)
    Screener(lists, index_cache=tmp_path)
    assert list(tmp_path.glob("index-*"))
    from_cache = screened(Screener(lists, index_cache=tmp_path), frame, mapping)
    for expected, got in zip(fresh, from_cache, strict=True):
        assert_frame_equal(got, expected)


def test_parties_matched_a_few_at_a_time_get_what_they_get_matched_all_at_once(screener, monkeypatch) -> None:
    """Chunks of three parties, worked in two threads at once, give what one call over every party gives."""
    from screener import chunks

    frame = pl.concat([read_supplier_table(EXAMPLE_SUPPLIERS).frame.select("supplier_name", "country", "address"),
                       GENERATED.select(supplier_name="name", country="country", address="address")])
    mapping = ColumnMapping(name="supplier_name", country="country", address="address")
    together = screener.screen(frame, mapping)
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 3)
    monkeypatch.setattr(chunks, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(chunks, "thread_count", lambda: 2)
    apart = screener.screen(frame, mapping)
    assert_frame_equal(apart.rows, together.rows)
    assert_frame_equal(apart.candidates, together.candidates)
    assert together.candidates["row"].n_unique() > 10


def test_candidates_left_out_before_scoring_are_those_scoring_leaves_out(screener, monkeypatch) -> None:
    """The bound that drops candidates before they are scored word by word (Matcher._within_reach) changes no
    result: suppliers sharing a word or two with listed names, listed names in supplier spellings and the generated
    suppliers get the same candidates and scores as when every candidate is scored."""
    listed = screener.lists.names.filter(pl.col("lang") == "en")["name"].head(60).to_list()
    shared = [f"{word.title()} Poheng Textile Co., Ltd." for name in listed[:30] for word in name.split()[:1]]
    generic = [f"Kuangtai {' '.join(name.split()[1:3])} Limited" for name in listed[30:]]
    names = [*listed, *[name.upper() for name in listed], *shared, *generic, *GENERATED["name"].drop_nulls()]
    queries = pl.DataFrame({"row": range(len(names)), "name": names, "country": ["CN"] * len(names)})
    queries = queries.with_columns(address=pl.lit(None, pl.String))
    dropped = 0
    within_reach = screener.matcher._within_reach.__func__

    def counted(self, candidates, *args):
        nonlocal dropped
        kept = within_reach(self, candidates, *args)
        dropped += candidates.height - kept.height
        return kept

    monkeypatch.setattr(type(screener.matcher), "_within_reach", counted)
    bounded = screener.matcher.match(queries)
    monkeypatch.setattr(type(screener.matcher), "_within_reach", lambda self, candidates, *args: candidates)
    assert dropped > 0
    assert_frame_equal(bounded, screener.matcher.match(queries))
