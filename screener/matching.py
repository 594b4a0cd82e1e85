"""The Matcher: blocked candidate generation and weighted, explainable scoring of names against list names.

Every list name variant (primary, alias, subsidiary, former; English or Chinese) is normalised
(screener.normalize) into words. Each word gets a weight: rare brand words count fully, generic
industry words, places and numbers count little. A supplier name is compared with a list name by the
weighted share of the list name's words found in the supplier name (allowing one typing error per
word, and pinyin written joined or split) and the weighted share of the supplier's words explained
by the list name. Candidates come only from the few most informative words of each list name, so the
cost per supplier stays nearly flat as the lists grow.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from screener import reference
from screener.countries import country_code
from screener.errors import UsageError
from screener.index_cache import cached_tables
from screener.lookup import HASH_SEED, Index, KeyMap, WordSet, by_hash, ranges
from screener.name_parts import ROLE_WEIGHTS, common_words, name_words, word_roles
from screener.name_parts import places as division_places
from screener.normalize import (
    comparison_workers,
    deletion_keys,
    han_key,
    han_trade,
    normalize_frame,
    steps_text,
    without_tail,
)
from screener.paths import data_dir
from screener.plans import run
from screener.recent import SMALL_FRAME, Recent
from screener.transliterate import gazetteer_maps, pinyin_word_regex

GENERIC_WEIGHT = 0.15
PLACE_WEIGHT = 0.25
NUMBER_WEIGHT = 0.3
MIN_RARITY = 0.2
BLOCK_KEYS_PER_NAME = 3
FUZZY_MIN_LENGTH = 5
"""Words shorter than this get no typo tolerance: one letter changes a short word into another ('Lens', 'Leon')."""
FUZZY_MAX_LENGTH = 40
"""Nor do words longer than this (nobody types a 40-letter word twice the same): typo keys stay linear in size."""
TRANSPOSITION_SIM = 0.95
SEGMENT_SIM = 1.0
SEGMENT_MIN_LENGTH = 3
OCR_SIM = 0.95
OCR_DIGITS = {"0": "o", "1": "i", "5": "s", "8": "b", "6": "g", "2": "z"}
OCR_LETTERS = {"rn": "m", "vv": "w", "cl": "d", "l": "i"}
"""Characters that scanned documents confuse (0/O, 1/I, l/I, rn/m, ...): read back on the supplier side at a small cost,
digits in a word always, each letter pair as an alternative of its own."""
TRUNCATED_WIDTHS = (35, 60)
"""Name-field widths of customs manifests and ERP vendor masters: a name exactly this long may be cut short, so
listed words after its end are not counted as missing."""
CUT_WORD_MIN_LENGTH = 4
"""The last word of a name cut short is read as the list words it begins ('REEDUCATIO' reeducation) from this length;
a shorter stub says too little."""
CUT_WORD_MAX_COMPLETIONS = 20
"""Nor is a stub that begins more list words than this (it says as little)."""
CUT_WORD_SIM = 0.95
FUZZY_MIN_RATIO = 75.0
NAME_COVERAGE_SHARE = 0.6
COUNTRY_AGREES_BONUS = 2.0
ADDRESS_AGREES_BONUS = 2.0
AFFILIATE_QUALIFIER_WEIGHT = 0.05
DIFFERENT_PINYIN_FACTOR = 0.75
EXHAUSTIVE_MIN_RATIO = 50
COUNTRY_CONFLICT_PENALTY = 10.0
DISCOUNTED_BELOW = 0.35
SCORE_TOLERANCE = 1e-6
"""How far below the review band a score bound may fall and its pair still be scored: bounds and scores add the same
weights in different orders, so they may differ in the last bits of a float."""
CAP_MARGIN = 0.1
"""A pair whose parts disagree scores at most this much below the match threshold: it goes to review."""
PARENTHESISED = r"\(([^()]*)\)"
"""Text in parentheses: a qualifier (usually a place) of the name before it."""
GROUP_WORDS = r"(?i)\b(group|grp|holdings?|hldgs?|jituan|konggu)\b|集团|集團|控股"
"""Words that name a group or holding company rather than one operating company."""
LEGAL_FORM_TEXT = (
    r"(?i)\b(co|company|ltd|limited|corp|corporation|inc|incorporated|llc|plc|bhd|berhad|pte|pvt|gmbh|ag|sa|srl|"
    r"jsc|tbk|gongsi)\b|公司"
)
"""A registered legal form: a name carrying one is a full legal name, not a short form or brand."""
LEGAL_FORM_AT_END = r"(?i)(\b(co|ltd|limited|corp|corporation|inc|company|llc|gongsi|bhd)\.?|公司)\s*$"
"""A name that ends on its legal form was not cut short."""
_COUNTRY_GROUPS = KeyMap({"HK": "CN", "MO": "CN"}, pl.String())
_ROLE_WEIGHTS = KeyMap(ROLE_WEIGHTS, pl.Float64())
_KIND_RANKS = KeyMap({"primary": 0, "alias": 1, "subsidiary": 2, "former": 3}, pl.Int8())
WORD_MAP_SCHEMA = {"qword": pl.String, "word": pl.String, "sim": pl.Float64}

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "entity_id": pl.String(),
    "matched_name": pl.String(),
    "name_kind": pl.String(),
    "name_lang": pl.String(),
    "score": pl.Float64(),
    "band": pl.String(),
    "relation": pl.String(),
    "explanation": pl.String(),
}


@dataclass(frozen=True)
class MatchConfig:
    """Score thresholds (0-100): at or above `match_threshold` a candidate is flagged, at or above
    `review_threshold` it is shown to an analyst; `max_candidates` list names are scored per supplier."""

    match_threshold: float = 85.0
    review_threshold: float = 70.0
    max_candidates: int = 25

    def __post_init__(self) -> None:
        if not 0 <= self.review_threshold <= self.match_threshold <= 100:
            raise UsageError(
                f"thresholds must satisfy 0 <= review ({self.review_threshold}) <= match ({self.match_threshold}) <= 100"
            )


class Matcher:
    """Index of every list name variant, ready to match many supplier names at once."""

    def __init__(
        self,
        names: pl.DataFrame,
        entities: pl.DataFrame,
        config: MatchConfig = MatchConfig(),
        *,
        cache_dir: Path | None = None,
    ):
        """`cache_dir`: where the index is kept between runs (screener.index_cache); None builds it in memory."""
        self.config = config
        key = index_key(names, entities) if cache_dir is not None else ""
        tables = cached_tables(cache_dir, key, lambda: _index_tables(names, entities))
        self._name_table = tables["names"]
        self._names = Index(tables["names"], "nid")
        self._vocab = Index(tables["vocab"], "word")
        self._name_words = Index(tables["name_words"], "nid")
        self._block_keys = Index(tables["block_keys"], "word")
        self._block_weight = Index(tables["block_weight"], "nid")
        self._rank_keys = Index(tables["rank_keys"], "nid")
        self._generic_keys = Index(tables["generic_keys"], "key")
        self._generic_key_words = tables["generic_keys"]["key"].str.split(" ").explode().unique().sort().implode()
        self._deletions = Index(tables["deletions"], "key")
        self._profiles = Index(tables["profiles"], "entity_id")
        self._address_words = tables["address_words"]
        self._segmenter = _Segmenter(tables["vocab"]["word"])

    @property
    def _reachable(self) -> float:
        """The lowest name score that country and address agreement can still lift into the review band."""
        return self.config.review_threshold - COUNTRY_AGREES_BONUS - ADDRESS_AGREES_BONUS

    def check(self, name: str, country: str | None = None, address: str | None = None) -> pl.DataFrame:
        """Candidates for one name (row 0), through the same steps as `match`."""
        queries = pl.DataFrame(
            {"row": [0], "name": [name], "country": [country], "address": [address]},
            schema={"row": pl.Int64, "name": pl.String, "country": pl.String, "address": pl.String},
        )
        return self.match(queries)

    def match(self, queries: pl.DataFrame, *, exhaustive: bool = False) -> pl.DataFrame:
        """Candidates at or above the review threshold: one row per (row, entity), by row then score descending.

        `exhaustive=True` skips blocking and scores every list name a rapidfuzz scan finds remotely similar
        (token-set ratio >= 50): the slow baseline that blocking is measured against."""
        prepared = self._prepare(queries)
        if prepared.is_empty() or self._name_table.is_empty():
            return _empty(queries)
        words, cut, hits = self._hits(prepared)
        candidates = self._scan(prepared) if exhaustive else self._candidates(hits)
        if candidates.is_empty():
            return _empty(queries)
        query_words = _without(cut, _word_roles(_with_candidates(prepared, candidates), "qid"))
        list_weights = self._vocab.rows(hits["word"]).lazy().select("word", lweight="kind_weight")
        query_weights = self._query_weights(query_words, prepared, candidates)
        if not exhaustive and _bound_may_drop(candidates, words, hits):
            candidates = self._within_reach(candidates, hits.lazy().join(list_weights, on="word"), query_weights, prepared)
            if candidates.is_empty():
                return _empty(queries)
        scored = self._score(candidates.select("qid", "nid"), hits, list_weights, query_weights, prepared)
        if scored.is_empty():
            return _empty(queries)
        return self._finish(scored, prepared, queries)

    def _prepare(self, queries: pl.DataFrame) -> pl.DataFrame:
        given = queries.select(*_given_columns("country" in queries.columns, "address" in queries.columns))
        frame = pl.concat([given, _script_parts(given)]).with_row_index("qid")
        normal = normalize_frame(frame["name"])
        tailed = frame.filter(pl.col("head") != pl.col("name"))
        no_tail = pl.lit([], pl.List(pl.String))
        country, grouped = _country_and_group()
        prepared = frame.lazy().with_columns(
            normal["norm"],
            normal["steps"],
            country,
            han_key(frame["head"]).alias("han"),
            grouped,
            **({"tail_words": no_tail} if tailed.is_empty() else {}),
        )
        if not tailed.is_empty():
            heads = tailed.select("qid", head_norm=normalize_frame(tailed["head"])["norm"])
            prepared = (
                prepared.join(heads.lazy(), on="qid", how="left", maintain_order="left")
                .with_columns(
                    tail_words=pl.col("norm")
                    .str.split(" ")
                    .list.set_difference(pl.col("head_norm").str.split(" "))
                    .fill_null(no_tail)
                )
                .drop("head_norm")
            )
        return run(prepared.filter(pl.col("norm") != ""))

    def _hits(self, prepared: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
        """The words of the queries (qid, word, pos), those of them cut at a field width (`_cut_words`), and the hits:
        the words joined with the list words they read as (qword, word, sim)."""
        words = name_words(prepared, "qid")
        cut, completions = self._cut_words(words, prepared)
        words = _without(cut, words)
        word_map = self._word_map(words.select(pl.col("word").unique()), completions)
        return words, cut, run(words.lazy().rename({"word": "qword"}).join(word_map.lazy(), on="qword"))

    def _cut_words(self, query_words: pl.DataFrame, prepared: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame]:
        """(qid, pos) of the last word of each name cut at a field width (None when no name is), unless it is a whole
        list word or begins list words: those are then its readings (qword, word, sim), returned beside them."""
        if not prepared["truncated"].any():
            return None, pl.DataFrame(schema=WORD_MAP_SCHEMA)
        last = (
            query_words.join(prepared.filter(pl.col("truncated")).select("qid"), on="qid")
            .filter(pl.col("pos") == pl.col("pos").max().over("qid"))
            .join(self._vocab.rows(query_words["word"]).select("word"), on="word", how="anti")
        )
        completions = self._completions(last["word"])
        return last.filter(~pl.col("word").is_in(completions["qword"].implode())).select("qid", "pos"), completions

    @functools.cached_property
    def _sorted_vocabulary(self) -> pl.Series:
        """The list words in order (sorted at the first name cut short), where the words a stub begins are adjacent."""
        return self._vocab.table["word"].unique().sort()

    def _completions(self, stubs: pl.Series) -> pl.DataFrame:
        """(qword, word, sim): the list words each stub begins, for stubs of CUT_WORD_MIN_LENGTH letters or more that
        begin at most CUT_WORD_MAX_COMPLETIONS of them."""
        stubs = stubs.unique()
        stubs = stubs.filter(stubs.str.len_chars() >= CUT_WORD_MIN_LENGTH)
        if stubs.is_empty():
            return pl.DataFrame(schema=WORD_MAP_SCHEMA)
        words = self._sorted_vocabulary
        first = words.search_sorted(stubs, side="left").to_numpy().astype(np.int64)
        counts = words.search_sorted(stubs + "\U0010ffff", side="left").to_numpy().astype(np.int64) - first
        kept = (counts > 0) & (counts <= CUT_WORD_MAX_COMPLETIONS)
        counts = counts[kept]
        return pl.DataFrame(
            {
                "qword": stubs.filter(pl.Series(kept)).gather(pl.Series(np.repeat(np.arange(counts.size), counts))),
                "word": words.gather(pl.Series(ranges(first[kept], counts))),
                "sim": np.full(int(counts.sum()), CUT_WORD_SIM),
            },
            schema=WORD_MAP_SCHEMA,
        )

    def _word_map(self, words: pl.DataFrame, completions: pl.DataFrame) -> pl.DataFrame:
        """Query word → list word with similarity 0-1: exact, joined pinyin, one typing error, or (`completions`) the
        list words a word cut short begins."""
        words = words.rename({"word": "qword"})
        exact = run(
            words.lazy()
            .join(self._vocab.rows(words["qword"]).lazy().select("word"), left_on="qword", right_on="word")
            .with_columns(word=pl.col("qword"), sim=pl.lit(1.0))
        )
        if exact.height == words.height:
            return exact.select("qword", "word", "sim")
        unmatched = run(words.lazy().join(exact.lazy().select("qword"), on="qword", how="anti"))
        joined = self._segmenter.pieces(unmatched["qword"])
        unknown = unmatched.filter(
            pl.col("qword").str.len_chars().is_between(FUZZY_MIN_LENGTH, FUZZY_MAX_LENGTH)
            & ~pl.col("qword").is_in(common_words().among(unmatched["qword"]))
        )
        fuzzy = self._fuzzy(unknown)
        ocr = self._ocr(unmatched)
        return run(
            pl.concat(
                [
                    frame.lazy().select("qword", "word", pl.col("sim").cast(pl.Float64))
                    for frame in (exact, joined, ocr, fuzzy, completions)
                ]
            )
            .sort("sim", descending=True, maintain_order=True)
            .unique(["qword", "word"], keep="first", maintain_order=True)
        )

    def _ocr(self, unknown: pl.DataFrame) -> pl.DataFrame:
        """Unknown query words that read as a list word once scanning confusions are undone ('J1NFU' jinfu)."""
        confusable = unknown.filter(pl.col("qword").str.contains(_ocr_pattern()))
        if confusable.is_empty():  # no character a scan confuses
            return pl.DataFrame(schema=WORD_MAP_SCHEMA)
        read = run(
            pl.concat([confusable.lazy().select("qword", reading=reading) for reading in _ocr_readings()])
            .filter(pl.col("reading") != pl.col("qword"))
            .unique()
        )
        known = read.lazy().join(
            self._vocab.rows(read["reading"]).lazy().select("word"), left_on="reading", right_on="word"
        )
        found = [known.select("qword", word="reading", sim=pl.lit(OCR_SIM))]
        pieces = self._segmenter.pieces(read["reading"])
        if not pieces.is_empty():
            split = read.lazy().join(pieces.lazy().select("qword", "word"), left_on="reading", right_on="qword")
            found.append(split.select("qword", "word", sim=pl.lit(OCR_SIM)))
        return run(pl.concat(found))

    def _fuzzy(self, unknown: pl.DataFrame) -> pl.DataFrame:
        if unknown.is_empty():
            return pl.DataFrame(schema=WORD_MAP_SCHEMA)
        keys = _deletion_keys(unknown, "qword")
        pairs = run(
            keys.lazy()
            .join(self._deletions.rows(keys["key"]).lazy(), on="key")
            .select("qword", "word")
            .unique()
            .filter(
                (pl.col("word").str.len_chars() >= FUZZY_MIN_LENGTH)
                & (pl.col("qword") != pl.col("word"))
                & (pl.col("qword").str.slice(0, 1) == pl.col("word").str.slice(0, 1))
            )
        )
        if pairs.is_empty():
            return pairs.with_columns(sim=pl.lit(0.0))
        queries, words = pairs["qword"].to_list(), pairs["word"].to_list()
        workers = comparison_workers(len(queries))
        ratios = process.cpdist(queries, words, scorer=fuzz.ratio, workers=workers)
        swapped = process.cpdist(queries, words, scorer=OSA.distance, workers=workers) < process.cpdist(
            queries, words, scorer=Levenshtein.distance, workers=workers
        )
        both_pinyin = _is_pinyin_word(pl.col("qword")) & _is_pinyin_word(pl.col("word"))
        return run(
            pairs.lazy()
            .with_columns(ratio=pl.Series(ratios, dtype=pl.Float64), swapped=pl.Series(swapped, dtype=pl.Boolean))
            .filter(pl.col("ratio") >= FUZZY_MIN_RATIO)
            .select(
                "qword",
                "word",
                sim=pl.when(pl.col("swapped"))
                .then(TRANSPOSITION_SIM)
                .when(both_pinyin)
                .then(pl.col("ratio") / 100 * DIFFERENT_PINYIN_FACTOR)
                .otherwise(pl.col("ratio") / 100),
            )
        )

    def _candidates(self, hits: pl.DataFrame) -> pl.DataFrame:
        """Names of the most promising entities per query: found through their informative words, ranked by
        how much of their weightiest words the query covers."""
        posted = run(
            pl.concat(
                [
                    hits.lazy().join(self._block_keys.rows(hits["word"]).lazy(), on="word").select("qid", "nid"),
                    self._generic_candidates(hits).lazy(),
                ]
            ).unique()
        )
        if posted.is_empty():
            return posted
        ranking = self._rank_keys.rows(posted["nid"])
        ranked = run(
            posted.lazy()
            .join(ranking.lazy(), on="nid")
            .join(hits.lazy().select("qid", "word", "sim"), on=["qid", "word"], how="left")
            .group_by("qid", "nid", "word")
            .agg(found=(pl.col("sim").fill_null(0.0) * pl.col("weight")).max())
            .group_by("qid", "nid")
            .agg(found=pl.col("found").sum())
            .join(self._block_weight.rows(posted["nid"]).lazy(), on="nid")
            .with_columns(
                cover=pl.col("found") / pl.col("rank_weight"),
                best_cover=(pl.col("found") + pl.col("name_weight") - pl.col("rank_weight")) / pl.col("name_weight"),
            )
            .filter(100 * (NAME_COVERAGE_SHARE * pl.col("best_cover") + 1 - NAME_COVERAGE_SHARE) >= self._reachable)
            .with_columns(rank_score=(pl.col("cover") + pl.col("found") / 1000).round(9))
        )
        best_entities = (
            ranked.lazy()
            .group_by("qid", "entity_id")
            .agg(pl.col("rank_score").max())
            .sort(["qid", "rank_score", "entity_id"], descending=[False, True, False])
            .filter(pl.int_range(pl.len()).over("qid") < self.config.max_candidates)
        )
        return run(
            ranked.lazy()
            .join(best_entities.select("qid", "entity_id"), on=["qid", "entity_id"])
            .select("qid", "nid", "best_cover", "person", "generic_only")
        )

    def _within_reach(
        self, candidates: pl.DataFrame, hits: pl.LazyFrame, query_weights: pl.DataFrame, prepared: pl.DataFrame
    ) -> pl.DataFrame:
        """The candidates whose name score (`_text_score`) can still reach the review band once the supplier's words
        that no list word explains are counted, before they are scored word by word. The score is bounded from the
        best the list name's words can be covered (`best_cover`) and the best the supplier's words can be: each word
        with a hit counted as found, at the most its best hit can add (list word weight x similarity). A name cut at a
        field width is kept: its cut words do not count. `hits` carry the weight of the list word found (`lweight`).
        The bound is the name score itself (`_text_score`, which grows with each coverage) of those best coverages; a
        name of generic words only is bounded as one that is not all places (the larger of its two scores). Only the
        suppliers with a candidate are read."""
        queries = candidates.lazy().select("qid").unique()
        found = (
            hits.join(queries, on="qid", how="semi")
            .group_by("qid", "qword")
            .agg(found=(pl.col("lweight") * pl.col("sim")).max())
        )
        missed = pl.col("found").is_null() & ~pl.col("qtail")
        query_cover = (
            query_weights.lazy()
            .join(queries, on="qid", how="semi")
            .join(found, on=["qid", "qword"], how="left")
            .group_by("qid")
            .agg(
                pl.col("found").sum(),
                missed=pl.col("qweight").filter(missed).sum(),
                missed_telling=pl.col("qweight").filter(missed & (pl.col("qrole") != "generic")).sum(),
            )
            .select(
                "qid",
                query_cover=pl.col("found") / (pl.col("found") + pl.col("missed")),
                telling_cover=pl.col("found") / (pl.col("found") + pl.col("missed_telling")),
            )
        )
        return run(
            candidates.lazy()
            .join(query_cover, on="qid", how="left")
            .join(prepared.lazy().select("qid", "truncated"), on="qid")
            .with_columns(name_cover=pl.col("best_cover"), places_only=pl.lit(False))
            .with_columns(_text_score())
            # a bound that is 0/0 (NaN, above every number in polars) or missing keeps its pair
            .filter(pl.col("truncated") | (pl.col("text_score") >= self._reachable - SCORE_TOLERANCE).fill_null(True))
            .select("qid", "nid")
        )

    def _generic_candidates(self, hits: pl.DataFrame) -> pl.DataFrame:
        """Names made only of generic words, found only when the query has two of their weightiest words (a query's
        words are paired only among those of some such name's key)."""
        words = run(hits.lazy().select("qid", "word").filter(pl.col("word").is_in(self._generic_key_words)).unique())
        if words.is_empty():  # most names: no word of a generic name (a word pairs with itself: one makes a key)
            return pl.DataFrame(schema={"qid": hits.schema["qid"], "nid": self._generic_keys.table.schema["nid"]})
        keys = run(
            words.lazy().join(words.lazy(), on="qid", suffix="_other")
            .filter(pl.col("word") <= pl.col("word_other"))
            .select(
                "qid",
                key=pl.when(pl.col("word") == pl.col("word_other"))
                .then(pl.col("word"))
                .otherwise(pl.concat_str("word", "word_other", separator=" ")),
            )
        )
        return run(keys.lazy().join(self._generic_keys.rows(keys["key"]).lazy(), on="key").select("qid", "nid"))

    def _scan(self, prepared: pl.DataFrame) -> pl.DataFrame:
        """Every (query, list name) pair with a token-set ratio of at least 50, by exhaustive comparison."""
        scores = process.cdist(
            prepared["norm"].to_list(),
            self._name_table["norm"].to_list(),
            scorer=fuzz.token_set_ratio,
            score_cutoff=EXHAUSTIVE_MIN_RATIO,
            workers=-1,
            dtype=np.uint8,
        )
        query_index, name_index = np.nonzero(scores)
        return pl.DataFrame(
            {"qid": prepared["qid"].gather(query_index), "nid": self._name_table["nid"].gather(name_index)}
        )

    def _score(
        self,
        candidates: pl.DataFrame,
        hits: pl.DataFrame,
        list_weights: pl.LazyFrame,
        query_weights: pl.DataFrame,
        prepared: pl.DataFrame,
    ) -> pl.DataFrame:
        """Scores of every candidate pair that can reach the review band, with the words and parts behind them
        (`list_weights`: `word, lweight` of the list words the hits found)."""
        name_words = self._name_words.rows(candidates["nid"]).lazy()
        pairs = run(
            candidates.lazy()
            .join(hits.lazy(), on="qid")
            .join(name_words.select("nid", "word"), on=["nid", "word"])
            .join(list_weights, on="word")
        ).lazy()
        name_matches = (
            candidates.lazy()
            .join(name_words, on="nid")
            .join(
                pairs.sort(["sim", "qword"], descending=[True, False])
                .unique(["qid", "nid", "word"], keep="first")
                .select("qid", "nid", "word", "qword", "sim"),
                on=["qid", "nid", "word"],
                how="left",
            )
            .with_columns(pl.col("sim").fill_null(0.0))
        )
        query_matches = (
            candidates.lazy()
            .join(query_weights.lazy(), on="qid")
            .join(
                pairs.sort(["sim", "lweight", "word"], descending=[True, True, False])
                .unique(["qid", "nid", "qword"], keep="first")
                .select("qid", "nid", "qword", "sim", "lweight"),
                on=["qid", "nid", "qword"],
                how="left",
            )
            .with_columns(weight=pl.coalesce("lweight", "qweight"), sim=pl.col("sim").fill_null(0.0))
        )
        name_detail = run(
            name_matches.join(prepared.lazy().select("qid", "truncated"), on="qid").filter(
                ~(
                    pl.col("truncated")
                    & (pl.col("pos") > pl.col("pos").filter(pl.col("sim") > 0).max().over("qid", "nid").fill_null(-1))
                )
            )
        )
        name_side = name_detail.lazy().group_by("qid", "nid").agg(*_name_side())
        query_detail = run(query_matches.filter(~(pl.col("qtail") & (pl.col("sim") == 0))))
        query_side = query_detail.lazy().group_by("qid", "nid").agg(*_query_side())
        names = self._names.rows(candidates["nid"]).lazy()
        scored = run(
            name_side.join(query_side, on=["qid", "nid"])
            .join(names.select(*_SCORED_NAME_COLUMNS, entity_country="country"), on="nid")
            .with_columns(_text_score())
            .filter(pl.col("text_score") >= self._reachable)
        )
        if scored.is_empty():
            return scored
        parts = self._parts(scored, prepared)
        return parts.join(_word_lists(name_detail, query_detail, parts), on=["qid", "nid"], how="left")

    def _parts(self, scored: pl.DataFrame, prepared: pl.DataFrame) -> pl.DataFrame:
        """Part-by-part verdict of each pair: a match needs the trade names to agree and nothing to conflict."""
        profiles = self._profiles.rows(scored["entity_id"])
        frame = (
            scored.lazy()
            .join(profiles.lazy(), on="entity_id", how="left")
            .join(prepared.lazy().select("qid", "han", "grouped"), on="qid")
            .join(_han_found(scored, prepared, profiles).lazy(), on=["qid", "entity_id"], how="left")
        )
        for step in _part_steps():
            frame = frame.with_columns(*step)
        return run(frame.drop(_PART_STEP_COLUMNS))

    @staticmethod
    def _query_weights(query_words: pl.DataFrame, prepared: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
        """Weight of each word of the queries that have a candidate, by its role; words in parentheses (usually a
        place) count little."""
        queries = candidates.select(pl.col("qid").unique())
        prepared = prepared.join(queries, on="qid", how="semi")
        qualifiers = _parenthesised_words(prepared, "qid").lazy().with_columns(qualifier=pl.lit(True))
        tails = (
            prepared.lazy().select("qid", word="tail_words").explode("word").drop_nulls().with_columns(tail=pl.lit(True))
        )
        return run(
            query_words.lazy()
            .join(queries.lazy(), on="qid", how="semi")
            .join(qualifiers, on=["qid", "word"], how="left")
            .join(tails.unique(), on=["qid", "word"], how="left")
            .with_columns(weight=_role_weight())
            .with_columns(
                qweight=pl.when(pl.col("qualifier"))
                .then(pl.min_horizontal("weight", pl.lit(PLACE_WEIGHT)))
                .otherwise("weight")
            )
            .select(
                "qid",
                qword="word",
                qweight="qweight",
                qrole="role",
                qregion="region",
                qgroup="group",
                qtail=pl.col("tail").fill_null(False),
            )
        )

    def _finish(self, named: pl.DataFrame, prepared: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
        """The final score, band and explanation of each scored pair (`named`: with its list name's columns), the
        best name of each (row, entity) at or above the review threshold."""
        steps = _finish_steps(self.config.match_threshold)
        return run(
            named.lazy()
            .join(prepared.lazy().select("qid", "row", "country", *steps.query_columns), on="qid")
            .join(self._address_support(named, prepared).lazy(), on=["qid", "entity_id"], how="left")
            .with_columns(*steps.adjusted)
            .with_columns(steps.score)
            .with_columns(steps.capped_score)
            .sort(
                ["row", "entity_id", "score", steps.kind_rank, "nid", "qid"],
                descending=[False, False, True, False, False, False],
            )
            .unique(["row", "entity_id"], keep="first", maintain_order=True)
            .filter(pl.col("score") >= self.config.review_threshold)
            .with_columns(*steps.band_and_explanation)
            .sort(["row", "score", "entity_id"], descending=[False, True, False])
            .select(pl.col("row").cast(queries.schema["row"]), *steps.output)
        )

    def _address_support(self, pairs: pl.DataFrame, prepared: pl.DataFrame) -> pl.DataFrame:
        """Place and other informative words the supplier's address shares with the entity's listed addresses (only
        the addresses of suppliers with a candidate are read)."""
        empty = pl.DataFrame(schema={"qid": pl.UInt32, "entity_id": pl.String, "address_shared": pl.List(pl.String)})
        if prepared["address"].null_count() == prepared.height or self._address_words.is_empty():
            return empty  # no supplier gave an address (a check without one): nothing to read
        addressed = run(
            prepared.lazy().filter(pl.col("address").is_not_null()).join(pairs.lazy().select("qid"), on="qid", how="semi")
        )
        if addressed.is_empty():
            return empty
        words = _address_words(addressed.select("qid", "address"), "qid")
        return (
            pairs.select("qid", "entity_id")
            .unique()
            .join(words, on="qid")
            .join(self._address_words, on=["entity_id", "word"])
            .group_by("qid", "entity_id")
            .agg(address_shared=pl.col("word").unique().sort())
        )


def _address_words(frame: pl.DataFrame, key: str, *, listed: bool = False) -> pl.DataFrame:
    """(key, word) for the place and other informative words of addresses (no numbers or generic words)."""
    present = frame.filter(pl.col("address").fill_null("").str.strip_chars() != "")
    if present.is_empty():
        return pl.DataFrame(schema={key: frame.schema[key], "word": pl.String})
    normal = present.with_columns(norm=normalize_frame(present["address"], listed=listed)["norm"])
    return _explode_words(normal, key).filter(
        (_kind_weight(pl.col("word")) >= PLACE_WEIGHT)
        & ~pl.col("word").str.contains(r"\d")
        & ~pl.col("word").is_in(_word_kinds()[2].implode())
    )


def _word_lists(name_detail: pl.DataFrame, query_detail: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    """Per scored pair, the words shared, near spellings (a typo, a scan confusion or a word cut short), low-weight,
    missing from either side (for explanations)."""
    keys = scored.select("qid", "nid")
    informative = pl.col("weight") >= DISCOUNTED_BELOW
    names = (
        name_detail.lazy()
        .join(keys.lazy(), on=["qid", "nid"], how="semi")
        .group_by("qid", "nid")
        .agg(
            shared=pl.col("word").filter(pl.col("sim") == 1),
            fuzzy=pl.format("{}≈{}", "qword", "word").filter((pl.col("sim") > 0) & (pl.col("sim") < 1)),
            missing=pl.col("word").filter((pl.col("sim") == 0) & informative),
            discounted=pl.col("word").filter((pl.col("sim") > 0) & ~informative),
        )
    )
    extra = (
        query_detail.lazy()
        .join(keys.lazy(), on=["qid", "nid"], how="semi")
        .group_by("qid", "nid")
        .agg(extra=pl.col("qword").filter((pl.col("sim") == 0) & informative))
    )
    return run(names.join(extra, on=["qid", "nid"], how="left"))


_SCORED_NAME_COLUMNS = (
    "nid", "entity_id", "person", "affiliates", "short_form", "han_group", "han_trade", "lang", "name", "kind", "norm"
)
"""The columns of its list name a scored pair carries to its parts and final score (the name's country besides)."""

INDEX_KEYS = {
    "names": "nid",
    "vocab": "word",
    "name_words": "nid",
    "block_keys": "word",
    "block_weight": "nid",
    "rank_keys": "nid",
    "generic_keys": "key",
    "deletions": "key",
    "profiles": "entity_id",
}
"""The index tables looked up by a key column (each sorted by the key's hash), and that column."""
NAME_COLUMNS = ("entity_id", "name", "kind", "lang", "norm")
ENTITY_COLUMNS = ("entity_id", "country", "entity_type", "includes_affiliates", "addresses")
"""The columns of the list names and entities the index is built from."""
INDEX_SOURCES = ("matching.py", "lookup.py", "normalize.py", "name_parts.py", "transliterate.py", "reference.py", "paths.py")
"""The modules whose code decides the index: a change to any of them builds a new one."""


def index_key(names: pl.DataFrame, entities: pl.DataFrame) -> str:
    """A digest of everything the index is built from: list names and entities, reference data and gazetteer,
    the code that builds it and the versions of the libraries that normalise and hash names."""
    digest = hashlib.blake2b(digest_size=16)
    for frame, columns in ((names, NAME_COLUMNS), (entities, ENTITY_COLUMNS)):
        used = frame.select(column for column in columns if column in frame.columns)
        digest.update(repr(used.schema).encode())
        digest.update(used.hash_rows(seed=HASH_SEED).to_numpy().tobytes())
    package = Path(__file__).parent
    data = sorted((data_dir() / "reference").glob("*")) + sorted((data_dir() / "gazetteer").glob("*"))
    for path in [package / module for module in INDEX_SOURCES] + data:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(f"polars={pl.__version__}".encode())
    for library in ("pypinyin", "opencc", "rapidfuzz"):  # their version is written in the module, read unimported
        spec = importlib.util.find_spec(library)
        digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else library.encode())
    return digest.hexdigest()


def _index_tables(names: pl.DataFrame, entities: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every table of the index: list names, their words and weights, blocking and typo keys, entity profiles."""
    name_table = _name_table(names, entities)
    roles = _word_roles(name_table, "nid", listed=True)
    vocab = _vocabulary(roles, name_table)
    qualifiers = _parenthesised_words(name_table, "nid", listed=True).join(
        name_table.select("nid", "affiliates"), on="nid"
    )
    persons = name_table.filter(pl.col("person")).select("nid", person=pl.lit(True))
    base = pl.when(pl.col("role") == "trade").then(pl.col("rarity").clip(MIN_RARITY, 1.0)).otherwise(_role_weight())
    weighted = (
        roles.join(vocab.select("word", "rarity"), on="word")
        .join(qualifiers, on=["nid", "word"], how="left")
        .join(persons, on="nid", how="left")
        .with_columns(
            weight=pl.when(pl.col("person"))
            .then(1.0)
            .when(pl.col("affiliates"))
            .then(AFFILIATE_QUALIFIER_WEIGHT)
            .when(pl.col("affiliates").is_not_null())
            .then(pl.min_horizontal(base, pl.lit(PLACE_WEIGHT)))
            .otherwise(base)
        )
        .select("nid", "word", "pos", "weight", "role", "region", "group")
    )
    rank_keys = _heaviest_words(weighted).filter(pl.col("rank") < BLOCK_KEYS_PER_NAME).select("nid", "word", "weight")
    block_weight = (
        rank_keys.group_by("nid")
        .agg(rank_weight=pl.col("weight").sum())
        .join(
            weighted.group_by("nid").agg(
                name_weight=pl.col("weight").sum(), informative=(pl.col("weight") >= DISCOUNTED_BELOW).any()
            ),
            on="nid",
        )
        .join(name_table.select("nid", "entity_id", "person"), on="nid")
        .select("nid", "rank_weight", "name_weight", "entity_id", "person", generic_only=~pl.col("informative"))
    )
    tables = {
        "names": _with_short_forms(name_table),
        "vocab": vocab,
        "name_words": weighted,
        "block_keys": _block_keys(weighted),
        "block_weight": block_weight,
        "rank_keys": rank_keys,
        "generic_keys": _generic_keys(weighted),
        "deletions": _deletion_keys(vocab.select("word"), "word").unique(),
        "profiles": _entity_profiles(weighted, name_table, entities),
        "address_words": _address_words(entities.select("entity_id", address="addresses"), "entity_id", listed=True),
    }
    return {name: by_hash(table, INDEX_KEYS[name]) if name in INDEX_KEYS else table for name, table in tables.items()}


def _name_table(names: pl.DataFrame, entities: pl.DataFrame) -> pl.DataFrame:
    """List names with their normalised form and entity country, one id (nid) per variant."""
    norm = names["norm"] if "norm" in names.columns else normalize_frame(names["name"], listed=True)["norm"]
    countries = entities.select(
        "entity_id",
        country=pl.col("country").replace("", None),
        person=pl.col("entity_type") == "person",
        affiliates=pl.col("includes_affiliates").fill_null(False),
    ).unique("entity_id")
    table = (
        names.select("entity_id", "name", "kind", "lang")
        .with_columns(norm=norm)
        .filter(pl.col("norm") != "")
        .unique(["entity_id", "name", "kind", "lang"], maintain_order=True)
        .join(countries, on="entity_id", how="left")
        .with_row_index("nid")
        .with_columns(formal=pl.col("name").str.contains(LEGAL_FORM_TEXT))
    )
    return table.with_columns(han_trade=han_trade(table["name"]))


def _explode_words(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per (key, distinct word) of the normalised names."""
    return (
        frame.select(key, word=pl.col("norm").str.split(" "))
        .explode("word")
        .filter(pl.col("word") != "")
        .unique([key, "word"], maintain_order=True)
    )


def _parenthesised_words(frame: pl.DataFrame, key: str, *, listed: bool = False) -> pl.DataFrame:
    """(key, word) for the normalised words written in parentheses in the raw name: qualifiers such as places."""
    bracketed = frame.filter(pl.col("name").str.contains(PARENTHESISED))
    if bracketed.is_empty():
        return pl.DataFrame(schema={key: frame.schema[key], "word": pl.String})
    inside = bracketed.select(key, part=pl.col("name").str.extract_all(PARENTHESISED)).explode("part").drop_nulls("part")
    words = inside.with_columns(norm=normalize_frame(inside["part"], listed=listed)["norm"])
    return _explode_words(words, key)


def _is_pinyin_word(word: pl.Expr) -> pl.Expr:
    """True for a word made of two or more pinyin syllables: a one-letter variant of it is another Chinese name."""
    return word.str.contains(f"^{pinyin_word_regex()}$")


@functools.lru_cache(maxsize=1)
def _word_kinds() -> tuple[pl.Series, pl.Series, pl.Series]:
    """Generic words, place names and address words, as series ready for membership tests."""
    old = reference.meanings("old_romanisation").values()
    places = (set(gazetteer_maps()[0].values()) | set(old) | set(reference.words("place"))) - {"xpcc"}
    return (
        pl.Series(sorted(reference.words("generic")), dtype=pl.String),
        pl.Series(sorted(places), dtype=pl.String),
        pl.Series(sorted(reference.words("address_word")), dtype=pl.String),
    )


def _kind_weight(word: pl.Expr) -> pl.Expr:
    """Weight of a word from its kind alone: generic, place, number, or informative (1)."""
    generic, places, _ = _word_kinds()
    return (
        pl.when(word.is_in(generic.implode()))
        .then(GENERIC_WEIGHT)
        .when(word.is_in(places.implode()))
        .then(PLACE_WEIGHT)
        .when(word.str.contains(r"\d") | (word.str.len_chars() == 1))
        .then(NUMBER_WEIGHT)
        .otherwise(1.0)
    )


def _vocabulary(name_words: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Every list word with its document frequency (entities) and weight."""
    entity_count = max(names["entity_id"].n_unique(), 1)
    scale = math.log(entity_count + 1)
    return (
        name_words.join(names.select("nid", "entity_id"), on="nid")
        .group_by("word")
        .agg(df=pl.col("entity_id").n_unique(), kind_weight=_role_weight().max())
        .with_columns(rarity=((entity_count + 1) / pl.col("df")).log() / scale if scale > 0 else pl.lit(1.0))
        .with_columns(weight=pl.min_horizontal("kind_weight", pl.col("rarity").clip(MIN_RARITY, 1.0)))
        .select("word", "df", "weight", "kind_weight", "rarity")
    )


def _heaviest_words(name_words: pl.DataFrame) -> pl.DataFrame:
    """Name words ranked within each name by weight (0 = heaviest), ties broken by length then spelling."""
    ranked = name_words.sort(
        ["nid", "weight", pl.col("word").str.len_chars(), "word"], descending=[False, True, True, False]
    )
    return ranked.with_columns(rank=pl.int_range(pl.len()).over("nid"))


def _block_keys(name_words: pl.DataFrame) -> pl.DataFrame:
    """The most informative words of each list name: a query must share one to be scored against it, so
    common words never fan out to thousands of names."""
    return (
        _heaviest_words(name_words)
        .filter((pl.col("weight") >= DISCOUNTED_BELOW) & (pl.col("rank") < BLOCK_KEYS_PER_NAME))
        .select("word", "nid", "weight")
    )


def _generic_keys(name_words: pl.DataFrame) -> pl.DataFrame:
    """Names without an informative word, keyed by each pair of their three weightiest words (alphabetical),
    or by their word when they have one: a query must have two of those words to be scored against them."""
    heaviest = _heaviest_words(name_words).filter(pl.col("rank") < BLOCK_KEYS_PER_NAME)
    generic = heaviest.group_by("nid").agg(pl.col("weight").max() < DISCOUNTED_BELOW, words=pl.len())
    top = heaviest.join(generic.filter(pl.col("weight")).select("nid", "words"), on="nid")
    pairs = top.join(top.select("nid", other="word"), on="nid").filter(
        (pl.col("word") < pl.col("other")) | ((pl.col("words") == 1) & (pl.col("word") == pl.col("other")))
    )
    return pairs.select(
        key=pl.when(pl.col("word") == pl.col("other"))
        .then(pl.col("word"))
        .otherwise(pl.concat_str("word", "other", separator=" ")),
        nid="nid",
    ).unique()


@functools.cache
def _ocr_pattern() -> str:
    """Any character or pair that `_ocr_readings` reads back."""
    return "|".join(re.escape(text) for text in [*OCR_DIGITS, *OCR_LETTERS])


@functools.cache
def _ocr_readings() -> tuple[pl.Expr, ...]:
    """A word with its digits read as letters, then also each letter pair read back (built once)."""
    digits = pl.col("qword").str.replace_many(list(OCR_DIGITS), list(OCR_DIGITS.values()))
    return digits, *(digits.str.replace_all(pair, letter) for pair, letter in OCR_LETTERS.items())


class _Segmenter:
    """Words written together ('XINJIANGZHONGTAI', 'Shi He Zi' read as 'shihezi', 'SenseTime') split back into list
    words: the split into the fewest list words of at least three letters each."""

    def __init__(self, vocabulary: pl.Series):
        self.words = frozenset(word for word in vocabulary.to_list() if len(word) >= SEGMENT_MIN_LENGTH)
        self.longest = max((len(word) for word in self.words), default=0)
        self._word_set = WordSet(pl.Series(sorted(self.words), dtype=pl.String))

    def pieces(self, unknown: pl.Series) -> pl.DataFrame:
        """(qword, word, sim) for every list word of each unknown word's split; a batch's words are first narrowed to
        those that can split (`_splittable`: ~1 ms, more than searching a few words directly)."""
        words = self._splittable(unknown) if unknown.len() > SMALL_FRAME else unknown.unique(maintain_order=True).to_list()
        rows = [
            (qword, piece, SEGMENT_SIM)
            for qword in words
            if qword is not None and 2 * SEGMENT_MIN_LENGTH <= len(qword) <= FUZZY_MAX_LENGTH
            for piece in self.split(qword)
        ]
        return pl.DataFrame(rows, schema=WORD_MAP_SCHEMA, orient="row")

    def _splittable(self, unknown: pl.Series) -> list[str]:
        """The distinct unknown words long enough to split that begin and end with a list word, found together in
        polars: only these can split (in a batch, ~0.3 % of its unknown words), so `split`'s search in Python runs
        for a few words, not for every one."""
        word, size = pl.col("qword"), pl.col("size")
        longest = pl.min_horizontal(word.str.len_chars() - SEGMENT_MIN_LENGTH, pl.lit(self.longest))
        ends = run(
            unknown.rename("qword")
            .to_frame()
            .lazy()
            .unique(maintain_order=True)
            .filter(word.str.len_chars().is_between(2 * SEGMENT_MIN_LENGTH, FUZZY_MAX_LENGTH))
            .select("qword", size=pl.int_ranges(SEGMENT_MIN_LENGTH, longest + 1))
            .explode("size")
            .drop_nulls("size")
            .select("qword", first=word.str.slice(0, size), last=word.str.slice(-size))
        )
        known = self._word_set.among(pl.concat([ends["first"], ends["last"]]))
        begins = ends.filter(pl.col("first").is_in(known))["qword"].unique(maintain_order=True)
        ends_too = ends.filter(pl.col("last").is_in(known))["qword"]
        return begins.filter(begins.is_in(ends_too.implode())).to_list()

    def split(self, word: str) -> list[str]:
        """The fewest list words that spell `word` exactly, or [] when there is no such split into two or more."""
        best: list[list[str] | None] = [[]] + [None] * len(word)
        for end in range(1, len(word) + 1):
            for start in range(max(0, end - self.longest), end - SEGMENT_MIN_LENGTH + 1):
                before = best[start]
                if before is not None and word[start:end] in self.words:
                    candidate = [*before, word[start:end]]
                    current = best[end]
                    if current is None or len(candidate) < len(current):
                        best[end] = candidate
        found = best[len(word)]
        return found if found and len(found) >= 2 else []


def _with_candidates(prepared: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """The prepared queries that have a candidate: only their words are given roles (most names have none)."""
    qids = candidates["qid"].unique()
    return prepared if qids.len() == prepared.height else prepared.filter(pl.col("qid").is_in(qids.implode()))


def _without(cut: pl.DataFrame | None, query_words: pl.DataFrame) -> pl.DataFrame:
    """The query words but those at the (qid, pos) `cut` (`Matcher._cut_words`)."""
    return query_words if cut is None else query_words.join(cut, on=["qid", "pos"], how="anti")


def _bound_may_drop(candidates: pl.DataFrame, query_words: pl.DataFrame, hits: pl.DataFrame) -> bool:
    """Whether `Matcher._within_reach` may drop a candidate: some is a name scored by its lesser coverage (a person,
    generic words only), or some supplier word has no hit at all (a word with a hit in any query counts as explained:
    a batch then keeps every candidate, as scoring does). When neither, its bound is the one candidates passed."""
    lesser = (candidates["person"] | candidates["generic_only"]).any()
    return lesser or not query_words["word"].is_in(hits["qword"].implode()).all()


def _deletion_keys(words: pl.DataFrame, column: str) -> pl.DataFrame:
    """Deletion keys of the words long enough for typo tolerance."""
    return deletion_keys(
        words.lazy().filter(pl.col(column).str.len_chars().is_between(FUZZY_MIN_LENGTH, FUZZY_MAX_LENGTH)), column
    )


def _country_group(code: pl.Expr) -> pl.Expr:
    return _COUNTRY_GROUPS.replaced(code)


@functools.lru_cache(maxsize=1)
def _explanation() -> pl.Expr:
    """A sentence an analyst can check: variant matched, normalised forms, words shared and not, country."""

    def listed(column: str, label: str) -> pl.Expr:
        return (
            pl.when(pl.col(column).list.len() > 0)
            .then(pl.format(f"; {label}: {{}}", pl.col(column).list.join(", ")))
            .otherwise(pl.lit(""))
        )

    variant = pl.when(pl.col("lang") == "zh").then(pl.format("{} (Chinese)", "kind")).otherwise(pl.col("kind"))
    steps = steps_text(pl.col("steps"), " ({})")
    country = (
        pl.when(pl.col("adjust") > 0)
        .then(pl.format("; country {} agrees", "country"))
        .when(pl.col("adjust") < 0)
        .then(pl.format("; country {} conflicts with listed {}", "country", "entity_country"))
        .when(pl.col("country").is_null() & pl.col("entity_country").is_not_null())
        .then(pl.format("; no country given (listed {})", "entity_country"))
        .otherwise(pl.lit(""))
    )
    address = (
        pl.when(pl.col("address_shared").list.len() > 0)
        .then(pl.format("; address shares: {}", pl.col("address_shared").list.join(", ")))
        .otherwise(pl.lit(""))
    )
    return pl.concat_str(
        pl.format("score {} on '{}'", pl.col("score"), "qnorm"),
        steps,
        pl.format(" vs {} '{}' → '{}'", variant, "name", "norm"),
        listed("shared", "shared"),
        listed("fuzzy", "near spellings (typo, scan or cut)"),
        listed("discounted", "low-weight"),
        listed("missing", "not in supplier name"),
        listed("extra", "not in listed name"),
        pl.when(pl.col("tail") != "").then(pl.format("; ignored after the name: '{}'", "tail")).otherwise(pl.lit("")),
        pl.when(pl.col("parts") != "").then(pl.format("; parts: {}", "parts")).otherwise(pl.lit("")),
        pl.when(pl.col("relation") == "subsidiary")
        .then(pl.lit("; possible subsidiary of an entity listed with its subsidiaries"))
        .when(pl.col("relation") == "group")
        .then(pl.lit("; same group, different company"))
        .otherwise(pl.lit("")),
        country,
        address,
    )


def _empty(queries: pl.DataFrame) -> pl.DataFrame:
    return _no_candidates(queries.schema.get("row", OUTPUT_SCHEMA["row"]))


@functools.lru_cache(maxsize=8)
def _no_candidates(row: pl.DataType) -> pl.DataFrame:
    """No candidate, `row` typed as the queries' (built once per type: most names have no candidate)."""
    return pl.DataFrame(schema={**OUTPUT_SCHEMA, "row": row})


_RECENT_ROLES = {listed: Recent[tuple[str | None, str], pl.DataFrame]() for listed in (False, True)}


def _word_roles(frame: pl.DataFrame, key: str, *, listed: bool = False) -> pl.DataFrame:
    """(key, word, pos, role, region, group) for every word of the normalised names (screener.name_parts); a few
    names' roles (screener.recent) are kept for the next reading."""
    if frame.is_empty() or frame.height > SMALL_FRAME or "name" not in frame.columns:
        return _names_word_roles(frame, key, listed)
    names = zip(frame["name"].to_list(), frame["norm"].to_list(), strict=True)
    named = sorted(zip(frame[key].to_list(), names, strict=True), key=lambda pair: pair[0])
    results = _RECENT_ROLES[listed].through([name for _, name in named], lambda missing: _roles_by_name(missing, listed))
    keys = [value for value, name in named for _ in range(results[name].height)]
    roles = pl.concat([results[name] for _, name in named])  # one name: its kept frame itself, left unchanged
    return roles.select(pl.Series(key, keys, dtype=frame.schema[key]), pl.all())


def _roles_by_name(names: list[tuple[str | None, str]], listed: bool) -> dict[tuple[str | None, str], pl.DataFrame]:
    """Each (name, norm)'s word roles, computed together."""
    frame = pl.DataFrame(
        {"key": range(len(names)), "name": [name for name, _ in names], "norm": [norm for _, norm in names]},
        schema={"key": pl.Int64, "name": pl.String, "norm": pl.String},
    )
    roles = _names_word_roles(frame, "key", listed)
    if len(names) == 1:  # nothing to split
        return {names[0]: roles.drop("key")}
    parts = roles.partition_by("key", as_dict=True, include_key=False)
    empty = roles.drop("key").clear()
    return {name: parts.get((position,), empty) for position, name in enumerate(names)}


def _names_word_roles(frame: pl.DataFrame, key: str, listed: bool) -> pl.DataFrame:
    bracketed = (
        _parenthesised_words(frame, key, listed=listed)
        if "name" in frame.columns
        else pl.DataFrame(schema={key: frame.schema[key], "word": pl.String})
    )
    return word_roles(frame, key, _generic_words(), _is_pinyin_word(pl.col("word")), bracketed)


@functools.cache
def _generic_words() -> pl.Series:
    """The generic words as one list value, for `is_in` (built once)."""
    return _word_kinds()[0].implode()


def registration_claims(suppliers: pl.DataFrame) -> pl.DataFrame:
    """`row, claim`: the administrative division a supplier name says it is registered in — the places a Chinese
    enterprise name begins with (行政区划) and the word after them, and places in brackets — as text the XUAR
    gazetteer can read ('xinjiang goens', 'shihezi xinren'); null for names that begin with no place."""
    named = run(suppliers.lazy().select("row", "name").filter(pl.col("name").is_not_null() & (pl.col("name") != "")))
    if named.is_empty():
        return pl.DataFrame(schema={"row": suppliers.schema["row"], "claim": pl.String})
    prepared = named.hstack([normalize_frame(named["name"])["norm"]])
    roles = (
        _word_roles(prepared, "row")
        .lazy()
        .with_columns(first_other=pl.col("pos").filter(pl.col("role") != "place").min().over("row").fill_null(1_000))
    )
    bracketed = (
        _parenthesised_words(prepared, "row").lazy().join(roles.filter(pl.col("role") == "place"), on=["row", "word"])
    )
    leading = roles.filter((pl.col("pos") < pl.col("first_other")) | (pl.col("pos") == pl.col("first_other")))
    claimed = pl.concat(
        [leading.filter(pl.col("pos") < pl.col("first_other")).select("row"), bracketed.select("row")]
    ).unique()
    words = pl.concat(
        [
            leading.select("row", "pos", "word"),
            bracketed.select("row", pos=pl.lit(10_000, pl.Int64), word="word"),
        ],
        how="vertical_relaxed",
    )
    return run(
        words.join(claimed, on="row")
        .sort("row", "pos")
        .group_by("row", maintain_order=True)
        .agg(claim=pl.col("word").str.join(" "))
        .with_columns(pl.col("row").cast(suppliers.schema["row"]))
    )


@functools.cache
def _name_side() -> tuple[pl.Expr, ...]:
    """Per (query, list name), how the query covers the list name's words (built once)."""
    informative = pl.col("weight") >= DISCOUNTED_BELOW
    trade = (pl.col("role") == "trade") & informative
    return (
        ((pl.col("weight") * pl.col("sim")).sum() / pl.col("weight").sum()).alias("name_cover"),
        (~informative).all().alias("generic_only"),
        (((pl.col("sim") > 0) | ~trade).all() & trade.any()).alias("trade_found"),
        pl.col("word").filter(trade).alias("trade_words"),
        pl.col("group").drop_nulls().unique().alias("name_groups"),
        pl.col("group").filter(pl.col("sim") == 0).drop_nulls().unique().alias("unmatched_groups"),
        (pl.col("role") == "place").all().alias("places_only"),
        (trade & pl.col("sim").is_between(0, 1, closed="none")).any().alias("trade_typo"),
        (pl.col("sim") == 0).any().alias("name_word_missing"),
    )


@functools.cache
def _query_side() -> tuple[pl.Expr, ...]:
    """Per (query, list name), how the list name covers the query's words (built once)."""
    found = (pl.col("weight") * pl.col("sim")).sum()
    telling = pl.col("weight").filter((pl.col("sim") > 0) | (pl.col("qrole") != "generic")).sum()
    extra_trade = (pl.col("qrole") == "trade") & (pl.col("qweight") >= DISCOUNTED_BELOW) & (pl.col("sim") == 0)
    regions = pl.col("qregion").list.explode(keep_nulls=False, empty_as_null=False)
    return (
        (found / pl.col("weight").sum()).alias("query_cover"),
        (found / telling).fill_nan(0.0).alias("telling_cover"),
        pl.col("qword").filter(extra_trade).alias("extra_trade"),
        pl.col("qgroup").drop_nulls().unique().alias("query_groups"),
        regions.drop_nulls().unique().alias("query_regions"),
    )


@functools.cache
def _text_score() -> pl.Expr:
    """The name score (0-100) of a pair from the two coverages (built once)."""
    return (
        100
        * pl.when(pl.col("person"))
        .then(pl.min_horizontal("name_cover", "query_cover"))
        .when(pl.col("generic_only") & ~pl.col("places_only"))
        .then(pl.min_horizontal("name_cover", "telling_cover"))
        .when(pl.col("generic_only"))
        .then(pl.min_horizontal("name_cover", "query_cover"))
        .otherwise(NAME_COVERAGE_SHARE * pl.col("name_cover") + (1 - NAME_COVERAGE_SHARE) * pl.col("query_cover"))
    ).alias("text_score")


@functools.cache
def _part_steps() -> tuple[tuple[pl.Expr, ...], ...]:
    """The part-by-part reading of a pair, step by step: conflicts, agreements, what they add up to, then the outcome
    (built once). What two outcomes both read is a column of its own, computed once (`_PART_STEP_COLUMNS`)."""
    regions_shared = pl.col("query_regions").list.set_intersection("entity_regions").list.len()
    groups_shared = pl.col("query_groups").list.set_intersection("entity_groups").list.len()
    both_regions = (pl.col("query_regions").list.len() > 0) & (pl.col("entity_regions").list.len() > 0)
    both_groups = (pl.col("query_groups").list.len() > 0) & (pl.col("entity_groups").list.len() > 0)
    conflicts = (
        ((pl.col("han") != "") & ~pl.col("han_found").fill_null(True)).alias("han_conflict"),
        (both_regions & (regions_shared == 0)).alias("place_conflict"),
        (both_groups & (groups_shared == 0)).alias("industry_conflict"),
        (regions_shared > 0).alias("place_agrees"),
        # a short name of a group the list gives in Chinese script (溢达集团), named in the same characters
        (pl.col("short_form") & pl.col("han_group") & pl.col("grouped") & pl.col("han_found").fill_null(False)).alias(
            "group_in_script"
        ),
        (pl.col("grouped") & ~pl.col("entity_grouped")).alias("group_company"),
        (
            ~pl.col("trade_words")
            .list.eval((pl.element().str.len_chars() <= 3) | pl.element().str.contains(f"^{_short_pinyin_regex()}$"))
            .list.all()
        ).alias("distinct_trade"),
    )
    agreements = (
        (
            (pl.col("unmatched_groups").list.set_difference("query_groups").list.len() > 0) & ~pl.col("place_agrees")
        ).alias("industry_missing"),
        ((groups_shared > 0) | pl.col("place_agrees") | pl.col("group_in_script")).alias("corroborated"),
        (pl.col("extra_trade").list.len() > 0).alias("has_extra_trade"),
    )
    differs = pl.col("place_conflict") | pl.col("industry_conflict") | pl.col("industry_missing") | pl.col("group_company")
    readings = (
        differs.alias("differs"),
        (pl.col("short_form") & ~pl.col("corroborated")).alias("uncorroborated"),
        (pl.col("trade_typo") & pl.col("name_word_missing")).alias("typo_only"),
    )
    unverifiable = (
        ~pl.col("distinct_trade")
        & (pl.col("query_groups").list.len() > 0)
        & (pl.col("entity_groups").list.len() == 0)
        & ~pl.col("place_agrees")
    )
    related = (
        pl.col("trade_found")
        & ~pl.col("has_extra_trade")
        & (pl.col("distinct_trade") | pl.col("corroborated"))
        & ~pl.col("uncorroborated")
        & ~pl.col("han_conflict")
        & pl.col("differs")
    )
    unfounded = ~(pl.col("trade_found") | pl.col("generic_only") | pl.col("person"))
    verdict = (
        (
            pl.col("differs")
            | pl.col("has_extra_trade")
            | pl.col("uncorroborated")
            | unverifiable
            | pl.col("han_conflict")
            | unfounded
            | pl.col("typo_only")
        ).alias("capped"),
        related.alias("related"),
    )
    outcome = (
        pl.when(pl.col("related") & pl.col("affiliates"))
        .then(pl.lit("subsidiary"))
        .when(pl.col("related"))
        .then(pl.lit("group"))
        .otherwise(pl.lit(None, pl.String))
        .alias("relation"),
        _parts_text().alias("parts"),
    )
    return conflicts, agreements, readings, verdict, outcome


_PART_STEP_COLUMNS = (
    "distinct_trade", "differs", "uncorroborated", "related", "typo_only", "trade_typo", "name_word_missing",
    "group_in_script",
)
"""The columns `_part_steps` computes, and those of the name side only it reads, for its own use only."""


class _FinishSteps(NamedTuple):
    query_columns: tuple[pl.Expr, ...]
    adjusted: tuple[pl.Expr, pl.Expr]
    score: pl.Expr
    capped_score: pl.Expr
    kind_rank: pl.Expr
    band_and_explanation: tuple[pl.Expr, pl.Expr]
    output: tuple[pl.Expr | str, ...]


@functools.lru_cache(maxsize=8)
def _finish_steps(match_threshold: float) -> _FinishSteps:
    """The expressions that turn a pair's name score into its final score, band and explanation (built once per
    match threshold)."""
    country_adjust = (
        pl.when(pl.col("country").is_null() | pl.col("entity_country").is_null())
        .then(0.0)
        .when(_country_group(pl.col("country")) == _country_group(pl.col("entity_country")))
        .then(pl.when(pl.col("country") == pl.col("entity_country")).then(COUNTRY_AGREES_BONUS).otherwise(0.0))
        .otherwise(-COUNTRY_CONFLICT_PENALTY)
    )
    address_bonus = pl.when(pl.col("address_shared").list.len() > 0).then(ADDRESS_AGREES_BONUS).otherwise(0.0)
    tail = pl.col("name").str.slice(pl.col("head").str.len_chars()).str.strip_chars(" ,;.:-")
    return _FinishSteps(
        query_columns=(pl.col("norm").alias("qnorm"), pl.col("steps"), tail.alias("tail")),
        adjusted=(
            country_adjust.alias("adjust"),
            pl.col("address_shared").fill_null(pl.lit([], pl.List(pl.String))),
        ),
        score=(pl.col("text_score") + pl.col("adjust") + address_bonus).clip(0.0, 100.0).round(1).alias("score"),
        capped_score=pl.when(pl.col("capped"))
        .then(pl.min_horizontal("score", pl.lit(match_threshold - CAP_MARGIN)))
        .otherwise("score")
        .alias("score"),
        kind_rank=_KIND_RANKS.get(pl.col("kind"), default=4),
        band_and_explanation=(
            pl.when(pl.col("score") >= match_threshold).then(pl.lit("match")).otherwise(pl.lit("review")).alias("band"),
            _explanation().alias("explanation"),
        ),
        output=(
            "entity_id",
            pl.col("name").alias("matched_name"),
            pl.col("kind").alias("name_kind"),
            pl.col("lang").alias("name_lang"),
            "score",
            "band",
            "relation",
            "explanation",
        ),
    )


def _role_weight() -> pl.Expr:
    """Weight of a word from its role alone."""
    return _ROLE_WEIGHTS.get(pl.col("role"), default=1.0)


def _with_short_forms(names: pl.DataFrame) -> pl.DataFrame:
    """Mark short forms: names without a legal form whose trade name is 2-3 Chinese characters, or aliases that are
    one word of two pinyin syllables — a short alias that alone identifies no company (科达, 'Yida'); and, as
    `han_group`, the Chinese names that name a group (溢达集团)."""
    short_pinyin = (pl.col("kind") != "primary") & pl.col("norm").str.contains(f"^{_short_pinyin_regex()}$")
    short_han = pl.col("han_trade").str.len_chars().is_between(1, 3)
    return names.with_columns(
        short_form=~pl.col("formal") & pl.when(pl.col("lang") == "zh").then(short_han).otherwise(short_pinyin),
        han_group=(pl.col("lang") == "zh") & _names_a_group(pl.col("name")),
    )


def _entity_profiles(weighted: pl.DataFrame, names: pl.DataFrame, entities: pl.DataFrame) -> pl.DataFrame:
    """Per entity, the regions its names and addresses name, its industry groups, and whether a name says group."""
    by_entity = weighted.join(names.select("nid", "entity_id"), on="nid")
    regions = by_entity.select("entity_id", region=pl.col("region")).explode("region").drop_nulls()
    addressed = entities.select("entity_id", norm=normalize_frame(entities["addresses"], listed=True)["norm"])
    address_regions = (
        _word_roles(addressed, "entity_id", listed=True)
        .join(division_places().select("word", address_region="region"), on="word")
        .select("entity_id", region="address_region")
    )
    region_lists = pl.concat([regions, address_regions]).group_by("entity_id").agg(pl.col("region").unique().sort())
    groups = by_entity.group_by("entity_id").agg(pl.col("group").drop_nulls().unique().sort())
    grouped = names.group_by("entity_id").agg(
        entity_grouped=pl.col("name").str.contains(GROUP_WORDS).any(),
        entity_han_trades=pl.col("han_trade").filter(pl.col("han_trade") != "").unique().sort(),
    )
    return (
        grouped.join(region_lists, on="entity_id", how="left")
        .join(groups, on="entity_id", how="left")
        .select(
            "entity_id",
            "entity_grouped",
            "entity_han_trades",
            entity_regions=pl.col("region").fill_null(pl.lit([], pl.List(pl.String))),
            entity_groups=pl.col("group").fill_null(pl.lit([], pl.List(pl.String))),
        )
    )


def _han_found(scored: pl.DataFrame, prepared: pl.DataFrame, profiles: pl.DataFrame) -> pl.DataFrame:
    """Per (query, entity): whether the query's Chinese characters hold one of the entity's Chinese trade names
    (null when either side has none)."""
    if not (prepared["han"] != "").any():
        return pl.DataFrame(schema={"qid": prepared.schema["qid"], "entity_id": pl.String, "han_found": pl.Boolean})
    return run(
        scored.lazy()
        .select("qid", "entity_id")
        .unique()
        .join(prepared.lazy().filter(pl.col("han") != "").select("qid", "han"), on="qid")
        .join(profiles.lazy().select("entity_id", trade="entity_han_trades"), on="entity_id")
        .explode("trade")
        .filter(pl.col("trade").is_not_null() & (pl.col("trade") != ""))
        .group_by("qid", "entity_id")
        .agg(han_found=pl.col("han").str.contains(pl.col("trade"), literal=True).any())
    )


def _script_parts(queries: pl.DataFrame) -> pl.DataFrame:
    """For names written in Chinese and Latin script at once ('云从科技 CloudWalk'), each script's part as a name of
    its own: each part names the company; together they would count each word twice."""
    mixed = queries.filter(pl.col("name").str.contains(r"\p{Han}") & pl.col("name").str.contains(r"\p{Latin}{3}"))
    if mixed.is_empty():
        return mixed
    han = mixed.with_columns(name=pl.col("name").str.extract_all(r"\p{Han}+").list.join(""))
    latin = mixed.with_columns(name=pl.col("name").str.replace_all(r"[\p{Han}（）]+", " ").str.strip_chars())
    return pl.concat([han, latin])


def _names_a_group(name: pl.Expr) -> pl.Expr:
    return name.fill_null("").str.contains(GROUP_WORDS)


@functools.lru_cache(maxsize=4)
def _given_columns(has_country: bool, has_address: bool) -> tuple[pl.Expr, ...]:
    """row, name, country and address (null when the queries lack the column), truncated and head."""
    name = pl.col("name").cast(pl.String)
    optional = (
        (pl.col(column).cast(pl.String) if there else pl.lit(None, pl.String)).alias(column)
        for column, there in (("country", has_country), ("address", has_address))
    )
    return (
        pl.col("row"),
        name,
        *optional,
        (name.str.strip_chars().str.len_chars().is_in(TRUNCATED_WIDTHS) & ~name.str.contains(LEGAL_FORM_AT_END)).alias(
            "truncated"
        ),
        without_tail(name).alias("head"),
    )


@functools.cache
def _country_and_group() -> tuple[pl.Expr, pl.Expr]:
    """The query's country code, and whether its name says group or holding (built once)."""
    return country_code(pl.col("country")).alias("country"), _names_a_group(pl.col("head")).alias("grouped")


def _short_pinyin_regex() -> str:
    """One or two pinyin syllables (unanchored): the length of a short Chinese trade name."""
    return pinyin_word_regex(2)


def _versus(label: str, query: str, listed: str) -> pl.Expr:
    return pl.format(f"{label} ({{}} vs listed {{}})", pl.col(query).list.join("/"), pl.col(listed).list.join("/"))


def _parts_text() -> pl.Expr:
    """The part-by-part reading of a pair, for the explanation."""

    def note(condition: str, text: pl.Expr) -> pl.Expr:
        return pl.when(pl.col(condition)).then(text)

    return pl.concat_str(
        pl.when(pl.col("trade_found") & pl.col("han_found").fill_null(False))
        .then(pl.format("trade name agrees ({}, in the same Chinese characters)", pl.col("trade_words").list.join(" ")))
        .when(pl.col("trade_found"))
        .then(pl.format("trade name agrees ({})", pl.col("trade_words").list.join(" ")))
        .when(pl.col("trade_words").list.len() > 0)
        .then(pl.format("trade name differs ({})", pl.col("trade_words").list.join(" "))),
        note("has_extra_trade", pl.format("other trade name words: {}", pl.col("extra_trade").list.join(", "))),
        note("place_conflict", _versus("place conflicts", "query_regions", "entity_regions")),
        note("industry_conflict", _versus("industry conflicts", "query_groups", "entity_groups")),
        pl.when(pl.col("industry_missing") & ~pl.col("industry_conflict")).then(
            pl.format("listed industry not stated ({})", pl.col("unmatched_groups").list.join("/"))
        ),
        note("group_company", pl.lit("names a group or holding company; the listing names one member")),
        note("han_conflict", pl.lit("Chinese characters of the trade name differ (a name that sounds alike)")),
        note("uncorroborated", pl.lit("short listed alias with no place or industry to corroborate it")),
        note("group_in_script", pl.lit("the group is named in the listed Chinese characters")),
        note(
            "typo_only", pl.lit("trade name agrees only within a typo, and the listed name has words the supplier's lacks")
        ),
        separator="; ",
        ignore_nulls=True,
    )
