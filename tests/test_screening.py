"""The screening pipeline on the embedded lists: the headline match and its citation in every output."""

from __future__ import annotations

import json

import polars as pl
import pytest

from screener.reports import write_report
from screener.result import ScreenResult
from screener.screening import screen_file
from tests.conftest import EXAMPLE_SUPPLIERS


@pytest.fixture(scope="module")
def example(embedded_db) -> ScreenResult:
    return screen_file(EXAMPLE_SUPPLIERS, embedded_db)


def test_a_row_made_critical_by_its_uflpa_listing_shows_that_listing_as_its_match(example):
    rows = example.rows.filter(pl.col("fired_rules").list.first() == "uflpa_entity")
    several_lists = example.candidates.filter(pl.col("band") == "match").group_by("row").agg(
        pl.col("source").n_unique().alias("lists")
    ).filter(pl.col("lists") > 1)
    assert rows.join(several_lists, on="row").height >= 3, "the example should hold rows matching several lists"
    assert rows.height > 0 and set(rows["match_source"]) == {"uflpa"}
    assert set(rows["match_list"]) == {"UFLPA Entity List"}


def test_the_headline_match_is_one_of_the_rows_candidates(example):
    shown = example.rows.select("row", "match_entity_id", "match_name").drop_nulls()
    joined = shown.join(
        example.candidates.select("row", "entity_id", "name", "band"),
        left_on=["row", "match_entity_id"], right_on=["row", "entity_id"],
    )
    assert joined.height == shown.height and set(joined["band"]) == {"match"}
    assert (joined["match_name"] == joined["name"]).all()


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_reports_cite_the_headline_listing(example, tmp_path, suffix):
    path = write_report(example, tmp_path / f"report.{suffix}")
    if suffix == "csv":
        rows = pl.read_csv(path, infer_schema=False).with_columns(pl.col("fired_rules").str.split("; "))
    else:
        rows = pl.DataFrame(json.loads(path.read_text(encoding="utf-8")), infer_schema_length=None)
    uflpa_first = rows.filter(pl.col("fired_rules").list.first() == "uflpa_entity")
    assert uflpa_first.height == example.rows.filter(pl.col("fired_rules").list.first() == "uflpa_entity").height
    assert set(uflpa_first["match_list"]) == {"UFLPA Entity List"}
    assert all(program.startswith("UFLPA") for program in uflpa_first["match_program"])
