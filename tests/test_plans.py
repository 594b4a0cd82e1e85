"""Chains of polars steps run as one plan (screener.plans) and the trips one check makes to polars."""

import polars as pl
import pytest
from polars.lazyframe.frame import LazyFrame

from screener.embedded import read_embedded
from screener.matching import Matcher
from screener.normalize import PARALLEL_MIN_PAIRS, comparison_workers
from screener.plans import run


def test_a_chain_run_as_one_plan_gives_what_the_eager_steps_give():
    frame = pl.DataFrame({"key": [2, 1, 1, 3], "word": ["b", "a", "a", None]})
    eager = frame.filter(pl.col("word").is_not_null()).unique(maintain_order=True).sort("key")
    assert run(frame.lazy().filter(pl.col("word").is_not_null()).unique(maintain_order=True).sort("key")).equals(eager)


def test_a_few_pairs_are_compared_on_the_calling_thread_and_many_on_every_core():
    assert comparison_workers(PARALLEL_MIN_PAIRS - 1) == 1
    assert comparison_workers(PARALLEL_MIN_PAIRS) == -1


def trips(monkeypatch, call) -> int:
    """How many times `call` collects a polars plan (each eager step is one collect)."""
    count = 0
    for method in ("collect", "_collect_eager"):
        original = getattr(LazyFrame, method)

        def counted(self, *args, original=original, **kwargs):
            nonlocal count
            count += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(LazyFrame, method, counted)
    call()
    return count


def test_matching_one_name_makes_few_trips_to_polars(monkeypatch):
    """Each trip to polars' thread pool costs ~0.1-0.2 ms on a small frame, more than the step: a name scored against
    its candidates through every stage stays under 80 trips (it took 146 when each step was an eager call)."""
    lists = read_embedded()
    matcher = Matcher(
        pl.concat([item.names for item in lists], how="vertical_relaxed"),
        pl.concat([item.entities for item in lists], how="vertical_relaxed"),
    )
    matcher.check("XINJIANG ZHONGTAI CHEMICAL CO LTD", "CN")
    assert not matcher.check("XINJIANG ZHONGTAI CHEMICAL CO LTD", "CN").is_empty()
    assert trips(monkeypatch, lambda: matcher.check("XINJIANG ZHONGTAI CHEMICAL CO LTD", "CN")) < 80


def test_one_name_is_normalised_and_read_by_roles_once_per_check(monkeypatch):
    """A check reads its name to match it and again to read where it says it is registered."""
    from screener.matching import _word_roles
    from screener.normalize import normalize_frame

    name = pl.Series(["Shihezi Xinren Cotton Textile (Korla) Co., Ltd."])
    first = normalize_frame(name)
    assert trips(monkeypatch, lambda: normalize_frame(name)) == 0
    assert normalize_frame(name).equals(first)
    frame = pl.DataFrame({"row": [7], "name": name, "norm": first["norm"]})
    roles = _word_roles(frame, "row")
    assert trips(monkeypatch, lambda: _word_roles(frame, "row")) <= 1
    assert _word_roles(frame, "row").equals(roles)
    assert roles["row"].unique().to_list() == [7]


def embedded_matcher() -> Matcher:
    lists = read_embedded()
    return Matcher(
        pl.concat([item.names for item in lists], how="vertical_relaxed"),
        pl.concat([item.entities for item in lists], how="vertical_relaxed"),
    )


@pytest.mark.parametrize(
    "name",
    [
        "Xinjiang Poheng Toys Group Co., Ltd.",  # a listed place and industry, a trade name no list word explains
        "Kuangtai Information Technology Limited",  # the generic words of a list name made only of generic words
    ],
)
def test_a_candidate_out_of_reach_is_not_scored_word_by_word(monkeypatch, name):
    """Blocking finds these names' candidates through a shared word, but the supplier's own trade name, which no
    list word explains, keeps any score below the review band: the bound drops them before scoring."""
    matcher = embedded_matcher()
    assert not matcher._candidates(hits_of(matcher, name)).is_empty()

    def scored(*args, **kwargs):
        raise AssertionError("a candidate out of reach was scored")

    monkeypatch.setattr(Matcher, "_score", scored)
    assert matcher.check(name, "CN").is_empty()


def hits_of(matcher: Matcher, name: str) -> pl.DataFrame:
    """The query words of one name joined with the list words they map to, as `Matcher.match` finds them."""
    prepared = matcher._prepare(pl.DataFrame({"row": [0], "name": [name], "country": ["CN"], "address": [None]}))
    return matcher._hits(prepared)[2]


def test_a_word_without_characters_scans_confuse_is_not_read_again(monkeypatch):
    matcher = embedded_matcher()
    assert trips(monkeypatch, lambda: matcher._ocr(pl.DataFrame({"qword": ["poheng"]}))) == 1


def test_a_name_whose_every_word_a_list_word_explains_is_not_bounded_again(monkeypatch):
    """Every supplier word has a hit and every candidate is scored by both coverages: the reach bound is then the one
    the candidates already passed, so it is not computed (a listed name as a manifest writes it)."""
    matcher = embedded_matcher()

    def bounded(*args, **kwargs):
        raise AssertionError("bounded again")

    monkeypatch.setattr(Matcher, "_within_reach", bounded)
    assert not matcher.check("HOSHINE SILICON INDUSTRY (SHANSHAN) CO LTD", "CN").is_empty()
