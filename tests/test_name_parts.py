"""Word roles read name by name in a batch: what one name's words get never depends on the names beside it."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from screener.matching import _names_word_roles
from screener.normalize import normalize_frame

NAMES = [
    "Xinjiang Kashi Yecheng Hongyuan Textile Co., Ltd.",  # a run of places, each within the one before
    "Zhongtai Xinjiang Chemical Co., Ltd.",  # a place that does not begin the name
    "Hongyuan Green Energy Co., Ltd.",  # no trade word: its leading county is the trade name
    "Yasheng Industrial Co., Ltd.",  # 'industry' as the only industry word
    "Yasheng Industrial Textile Co., Ltd.",
    "Hoshine Silicon Industry (Shanshan) Co., Ltd.",  # a place in brackets
    "Shanshan",
    "Nordic Timber AB",
]


def roles(names: list[str], keys: list[int]) -> pl.DataFrame:
    frame = pl.DataFrame({"qid": keys, "name": names}).with_columns(norm=normalize_frame(pl.Series(names))["norm"])
    return _names_word_roles(frame, "qid", listed=False)


def test_each_name_gets_the_roles_it_gets_alone_whatever_is_read_beside_it() -> None:
    together = roles(NAMES, [7, 3, 5, 0, 9, 1, 4, 2])
    for key, name in zip([7, 3, 5, 0, 9, 1, 4, 2], NAMES, strict=True):
        alone = roles([name], [key])
        assert_frame_equal(together.filter(pl.col("qid") == key), alone)


def test_leading_places_are_places_and_a_county_alone_is_the_trade_name() -> None:
    read = roles(NAMES, list(range(len(NAMES))))
    role = {(key, word): value for key, word, value in read.select("qid", "word", "role").iter_rows()}
    assert [role[(0, word)] for word in ("xinjiang", "kashi", "yecheng")] == ["place", "place", "place"]
    assert role[(1, "zhongtai")] == "trade" and role[(1, "xinjiang")] == "place"
    assert role[(2, "hongyuan")] == "trade"
    assert role[(3, "industry")] == "industry" and role[(4, "industry")] != "industry"
    assert role[(5, "shanshan")] == "place"


def test_a_normalised_name_holds_each_word_once_so_each_word_gets_one_role() -> None:
    """word_roles reads a word's row once per name: normalize_frame gives every word once, however often the name
    repeats it, in Latin or Chinese script."""
    names = ["Hetian Hetian Textile Textile Co., Ltd.", "新疆新疆合盛合盛硅业", "Kashgar Trading Kashgar (Kashgar) Co"]
    norms = normalize_frame(pl.Series(names))["norm"].to_list()
    assert all(len(norm.split()) == len(set(norm.split())) for norm in norms)
    read = roles(names, [0, 1, 2])
    assert read.height == sum(len(norm.split()) for norm in norms)
    assert not read.select("qid", "word").is_duplicated().any()
