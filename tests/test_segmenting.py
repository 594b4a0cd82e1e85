"""Words written together ('XINJIANGZHONGTAI') split back into list words: the same splits, searched only where a
split can exist."""

import random

import polars as pl
import pytest

from screener.matching import _Segmenter
from screener.recent import SMALL_FRAME

VOCABULARY = ["xinjiang", "xin", "jiang", "zhong", "tai", "shihezi", "hua", "fu", "sense", "time", "cotton", "abc"]


def expected(segmenter: _Segmenter, words: list[str]) -> list[tuple[str, str]]:
    """Every word's split by `split` itself, each word of splittable length once."""
    return sorted((word, piece) for word in set(words) if 6 <= len(word) <= 40 for piece in segmenter.split(word))


def found(segmenter: _Segmenter, words: list[str]) -> list[tuple[str, str]]:
    pieces = segmenter.pieces(pl.Series(words, dtype=pl.String))
    return sorted(zip(pieces["qword"].to_list(), pieces["word"].to_list(), strict=True))


def test_words_written_together_split_into_the_fewest_list_words() -> None:
    segmenter = _Segmenter(pl.Series(VOCABULARY))
    assert found(segmenter, ["xinjiangzhongtai", "sensetime", "xinjiang", "oulang", "hua"]) == [
        ("sensetime", "sense"), ("sensetime", "time"),
        ("xinjiangzhongtai", "tai"), ("xinjiangzhongtai", "xinjiang"), ("xinjiangzhongtai", "zhong"),
    ]


@pytest.mark.parametrize(("seed", "count"), [(seed, count) for seed in range(5) for count in (5, SMALL_FRAME * 3)])
def test_splits_are_those_of_a_search_of_every_word(seed: int, count: int) -> None:
    rng = random.Random(seed)
    segmenter = _Segmenter(pl.Series(VOCABULARY))
    words = ["".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 4))) for _ in range(count)]
    words = [word[: rng.randint(0, len(word))] + rng.choice(["", "q", "an"]) + word[rng.randint(0, len(word)):]
             for word in words]
    assert found(segmenter, words) == expected(segmenter, words)


def test_of_a_batch_only_words_that_begin_and_end_with_a_list_word_are_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    segmenter = _Segmenter(pl.Series(VOCABULARY))
    searched: list[str] = []
    split = segmenter.split
    monkeypatch.setattr(segmenter, "split", lambda word: searched.append(word) or split(word))
    unknown = ["xinjiangzhongtai", "oulangtai", "xinjiangoulang", "zixingcotton", "cottonqtai", "hua"]
    segmenter.pieces(pl.Series(unknown + [f"oulang{number}" for number in range(SMALL_FRAME)]))
    assert sorted(searched) == ["cottonqtai", "xinjiangzhongtai"]


def test_no_unknown_words_give_no_pieces() -> None:
    segmenter = _Segmenter(pl.Series(VOCABULARY))
    assert segmenter.pieces(pl.Series([], dtype=pl.String)).is_empty()
    assert segmenter.pieces(pl.Series([None, "ab"], dtype=pl.String)).is_empty()
