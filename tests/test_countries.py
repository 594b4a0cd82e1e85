"""One country normaliser: the matcher and the rules read a country cell the same way."""

import polars as pl
import pytest

from screener.countries import country_code, is_china
from screener.matching import Matcher
from tests.test_matching_structure import HENGRUI, lists


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("CN", "CN"),
        ("chn", "CN"),
        ("156", "CN"),
        ("中国", "CN"),
        ("中華人民共和國", "CN"),
        ("People's Republic of China", "CN"),
        ("The People’s Republic of China", "CN"),
        ("P.R.C.", "CN"),
        ("China (Mainland)", "CN"),
        ("Hong Kong SAR", "HK"),
        ("澳门", "MO"),
        ("Viet Nam", "VN"),
        ("U.S.A.", "US"),
        ("Türkiye", "TR"),
        ("Korea, Republic of", "KR"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_country_cells_in_any_common_form(cell, code):
    assert pl.select(country_code(pl.lit(cell, pl.String))).item() == code


def test_only_mainland_china_is_china():
    cells = pl.Series(["中国", "CHN", "Hong Kong", "Taiwan", None], dtype=pl.String)
    assert pl.select(is_china(pl.lit(cells))).to_series().to_list() == [True, True, False, False, False]


@pytest.mark.parametrize("cell", ["中国", "CHN", "People's Republic of China"])
def test_a_chinese_country_cell_agrees_with_a_listed_chinese_entity(cell):
    names, entities = lists()
    found = Matcher(names, entities).check(HENGRUI, cell)
    assert "country CN agrees" in found["explanation"][0]
    assert "conflicts" not in found["explanation"][0]


def test_china_and_hong_kong_or_macao_tests_agree_with_the_country_code_on_every_form():
    import csv

    from screener.countries import is_hong_kong_or_macao
    from screener.paths import data_dir

    with (data_dir() / "reference" / "countries.csv").open(encoding="utf-8", newline="") as handle:
        forms = [form for row in csv.DictReader(handle) for form in (row["iso2"], row["iso3"], row["numeric"], *row["names"].split(";"))]
    cells = pl.DataFrame({"cell": [*forms, *(f" the {form.upper()}. " for form in forms), "Atlantis", "", None]})
    judged = cells.select(
        china=is_china(pl.col("cell")),
        code_china=(country_code(pl.col("cell")) == "CN").fill_null(False),
        hk_mo=is_hong_kong_or_macao(pl.col("cell")),
        code_hk_mo=country_code(pl.col("cell")).is_in(["HK", "MO"]).fill_null(False),
    )
    assert judged["china"].sum() > 5 and judged["hk_mo"].sum() > 5
    assert judged["china"].to_list() == judged["code_china"].to_list()
    assert judged["hk_mo"].to_list() == judged["code_hk_mo"].to_list()
