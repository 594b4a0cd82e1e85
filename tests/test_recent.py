"""A few names read together keep their results for the next reading (screener.recent), and the results are exactly
those of a batch reading."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from screener.matching import _RECENT_ROLES, _names_word_roles, _word_roles
from screener.normalize import _RECENTLY_NORMALISED, _normalize_names, normalize_frame
from screener.recent import Recent, forget_all

NAMES = [
    "Hoshine Silicon Industry (Shanshan) Co., Ltd.",
    "新疆中泰化学股份有限公司",
    None,
    "",
    "XINJIANG ZHONGTAI CHEM CO LTD",
    "Hoshine Silicon Industry (Shanshan) Co., Ltd.",
    "Nordic Timber AB",
    "Shihezi Xinren Cotton Textile Co., Ltd.",
]


class Lengths:
    """The length of each key, recording the keys of each call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, keys: list[str]) -> dict[str, int]:
        self.calls.append(keys)
        return {key: len(key) for key in keys}


def test_only_the_keys_not_kept_are_computed_and_together():
    recent: Recent[str, int] = Recent(size=3)
    lengths = Lengths()
    assert recent.through(["ab", "abc", "ab"], lengths) == {"ab": 2, "abc": 3}
    assert recent.through(["abc", "abcd"], lengths) == {"abc": 3, "abcd": 4}
    assert lengths.calls == [["ab", "abc"], ["abcd"]]


def test_the_least_recently_used_key_is_dropped_first():
    recent: Recent[str, int] = Recent(size=2)
    lengths = Lengths()
    recent.through(["a", "bb"], lengths)
    recent.through(["a"], lengths)  # "a" used again: "bb" is now the oldest
    recent.through(["ccc"], lengths)
    recent.through(["a", "bb"], lengths)
    assert lengths.calls == [["a", "bb"], ["ccc"], ["bb"]]


def test_a_few_names_normalise_as_in_a_batch_the_first_time_and_the_next():
    batch = _normalize_names(pl.Series(NAMES, dtype=pl.String), listed=False)
    for _ in range(2):
        assert_frame_equal(normalize_frame(pl.Series(NAMES, dtype=pl.String)), batch)
    listed = _normalize_names(pl.Series(NAMES, dtype=pl.String), listed=True)
    assert_frame_equal(normalize_frame(pl.Series(NAMES, dtype=pl.String), listed=True), listed)


def test_a_few_names_get_the_word_roles_of_a_batch_whatever_the_order_of_their_keys():
    names = [name for name in NAMES if name is not None]
    frame = pl.DataFrame({"qid": [7, 3, 5, 0, 9, 1, 4][: len(names)], "name": names}).with_columns(
        norm=normalize_frame(pl.Series(names))["norm"]
    )
    batch = _names_word_roles(frame, "qid", listed=False)
    for _ in range(2):
        assert_frame_equal(_word_roles(frame, "qid"), batch)


def test_no_names_read_as_in_a_batch():
    assert_frame_equal(normalize_frame(pl.Series([], dtype=pl.String)), _normalize_names(pl.Series([], dtype=pl.String), False))
    frame = pl.DataFrame(schema={"qid": pl.Int64, "name": pl.String, "norm": pl.String})
    assert_frame_equal(_word_roles(frame, "qid"), _names_word_roles(frame, "qid", listed=False))


def test_forgetting_all_makes_the_next_reading_a_first_one():
    recent: Recent[str, int] = Recent(size=3)
    lengths = Lengths()
    recent.through(["ab"], lengths)
    forget_all()
    recent.through(["ab"], lengths)
    assert lengths.calls == [["ab"], ["ab"]]
    normalize_frame(pl.Series(NAMES[:1], dtype=pl.String))
    forget_all()
    assert all(not reading._results for readings in (_RECENTLY_NORMALISED, _RECENT_ROLES) for reading in readings.values())
