"""Looking rows and words up in hash-sorted tables: exact answers at the cost of the question."""

import polars as pl

from screener.lookup import Index, KeyMap, WordSet, by_hash


def test_a_word_set_finds_exactly_its_members_among_the_words_asked() -> None:
    common = WordSet(pl.Series(["union", "century", "gold", "union"]))
    asked = pl.Series("word", ["gold", "zhongtai", "union", "gold", ""])
    assert sorted(common.among(asked).explode().to_list()) == ["gold", "union"]
    assert pl.DataFrame({"word": asked}).select(pl.col("word").is_in(common.among(asked)))["word"].to_list() == [
        True, False, True, True, False
    ]


def test_a_word_set_asked_about_no_member_or_nothing_answers_nothing() -> None:
    common = WordSet(pl.Series(["union"]))
    assert common.among(pl.Series(["hoshine"])).explode().drop_nulls().to_list() == []
    assert common.among(pl.Series([], dtype=pl.String)).explode().drop_nulls().to_list() == []


def test_an_index_returns_every_row_of_each_key_asked_and_no_other_key() -> None:
    table = by_hash(pl.DataFrame({"word": ["a", "b", "a", "c"], "nid": [1, 2, 3, 4]}), "word")
    found = Index(table, "word").rows(pl.Series(["a", "x"]))
    assert sorted(found.filter(pl.col("word") == "a")["nid"].to_list()) == [1, 3]
    assert set(found["word"]) == {"a"}


def test_an_index_asked_the_same_key_twice_returns_its_rows_once() -> None:
    table = by_hash(pl.DataFrame({"word": ["a", "b", "a"], "nid": [1, 2, 3]}), "word")
    found = Index(table, "word").rows(pl.Series(["a", "b", "a", "a"]))
    assert sorted(found["nid"].to_list()) == [1, 2, 3]


def test_an_index_finds_keys_of_every_type_it_is_built_on_and_a_null_key() -> None:
    table = by_hash(pl.DataFrame({"nid": pl.Series([7, 3, None, 3], dtype=pl.UInt32), "word": ["a", "b", "c", "d"]}), "nid")
    found = Index(table, "nid").rows(pl.Series([3, None], dtype=pl.Int64))
    assert sorted(found["word"].to_list()) == ["b", "c", "d"]


def test_a_key_map_gives_what_replace_strict_gives_for_known_unknown_empty_and_null_keys() -> None:
    mapping = {"primary": 0, "alias": 1, "": 5}
    keys = pl.DataFrame({"kind": ["alias", "former", "", None, "primary"]})
    expected = keys.select(pl.col("kind").replace_strict(mapping, default=4, return_dtype=pl.Int8))
    assert keys.select(KeyMap(mapping, pl.Int8()).get(pl.col("kind"), default=4).alias("kind")).equals(expected)
    strict = keys.select(pl.col("kind").replace_strict(mapping, default=None, return_dtype=pl.Int8))
    assert keys.select(KeyMap(mapping, pl.Int8()).get(pl.col("kind")).alias("kind")).equals(strict)


def test_a_key_map_replacing_keeps_the_keys_it_does_not_know_as_replace_does() -> None:
    groups = {"HK": "CN", "MO": "CN"}
    codes = pl.DataFrame({"code": ["HK", "VN", None, "MO", "CN"]})
    assert codes.select(KeyMap(groups, pl.String()).replaced(pl.col("code")).alias("code")).equals(
        codes.select(pl.col("code").replace(groups))
    )
