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
