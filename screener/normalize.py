"""Name normalisation: the forms the matcher compares.

Steps, in order (all vectorised except Chinese script, which goes through pypinyin once per distinct name):
Unicode NFKC, case fold and diacritics; Chinese script to English terms and pinyin; '&' to 'and' and
punctuation to spaces; place-name variants and old romanisations to pinyin; abbreviations expanded and
word forms unified; split pinyin syllables joined ('zhong tai' → 'zhongtai'); legal forms and stopwords
dropped; repeated words dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import opencc
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from screener import reference
from screener.paths import data_dir
from screener.patterns import without
from screener.plans import run
from screener.recent import SMALL_FRAME, Recent
from screener.transliterate import (
    PINYIN_SYLLABLES,
    chinese_terms,
    gazetteer_maps,
    han_to_latin,
    pinyin_word_regex,
    run_pinyin,
)

VERSION = "4"

CORRECTION_MIN_LENGTH = 5
CORRECTION_MIN_RATIO = 85.0
CORRECTION_MAX_LENGTH = 40
"""Longer tokens are not spelling-corrected: their deletion keys would grow with the square of their length."""
_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
RUN_SYLLABLES = frozenset({"he", "she", "you", "ye"})
_NOT_MERGED = {"a", "e", "o", "he", "me", "she", "you", "die", "lie", "ne", "ye", "yo", "ban", "bin", "tan", "pan"}


@functools.lru_cache(maxsize=2)
def _tables(listed: bool) -> tuple[list[str], list[str], list[str], str]:
    """Word-sequence replacements (patterns, replacements), removals, and the syllable-join regex; supplier names
    also get the customs abbreviations (never applied to listed names)."""
    places, _ = gazetteer_maps()
    customs = {} if listed else customs_abbreviations()
    replacements = {**reference.meanings("old_romanisation"), **places, **pinyin_terms(), **reference.meanings("abbreviation"), **customs}
    longest_first = sorted(replacements, key=lambda key: (-len(key.split()), -len(key)))
    patterns = [_padded(key) for key in longest_first]
    targets = [_padded(replacements[key]) for key in longest_first]
    legal = (*reference.words("legal_form"), *reference.words("stopword"))
    removals = [_padded(form) for form in sorted(legal, key=lambda f: -len(f.split()))]
    syllables = "|".join(sorted(PINYIN_SYLLABLES - _NOT_MERGED, key=len, reverse=True))
    return patterns, targets, removals, rf"\b({syllables}) ({syllables})\b"


@functools.lru_cache(maxsize=4)
def _pattern_words(patterns: tuple[str, ...]) -> list[frozenset[str]]:
    return [frozenset(pattern.split()) for pattern in patterns]


def _present_words(padded: pl.Series) -> set[str]:
    """Every word of the padded names."""
    return set(_distinct_words(padded).to_list())


def _distinct_words(padded: pl.Series) -> pl.Series:
    """Every word of the padded names, once (the empty word among them)."""
    return padded.to_frame("text").select(pl.col("text").str.split(" ").explode().unique()).to_series()


def _occurring(patterns: list[str], targets: list[str], present: set[str]) -> tuple[list[str], list[str]]:
    """The replacements whose every word is among the names' words: no other can match them. `replace_many`
    builds its automaton anew on each call, so a few names then pay for a few patterns, not for hundreds."""
    kept = _possible(patterns, present)
    return [patterns[position] for position in kept], [targets[position] for position in kept]


def _possible(patterns: list[str], present: set[str]) -> list[int]:
    """Positions of the patterns whose every word is among the `present` words."""
    return [position for position, words in enumerate(_pattern_words(tuple(patterns))) if words <= present]


@functools.lru_cache(maxsize=1)
def customs_abbreviations() -> dict[str, str]:
    """Abbreviations of supplier masters and customs manifests ('CTN' cotton, 'I/E' import export)."""
    rows = reference.csv_columns(data_dir() / "reference" / "customs_abbreviations.csv", "abbreviation", "expansion")
    return {abbreviation: expansion for abbreviation, expansion in rows}


PINYIN_TERMS = "pinyin_terms.csv"
"""`compile_pinyin_terms` stored in data/reference/ (scripts/build_reference.py writes it): names in Latin script are
normalised without loading the pinyin dictionaries."""


@functools.lru_cache(maxsize=1)
def pinyin_terms() -> dict[str, str]:
    """The pinyin of every Chinese industry and organisation term of two or more characters, to the English a
    listed name uses ('huaxue' chemical, 'mianye' cotton industry, 'youse jinshu' nonferrous metals)."""
    rows = reference.csv_columns(data_dir() / "reference" / PINYIN_TERMS, "pinyin", "english")
    return {pinyin: english for pinyin, english in rows}


def compile_pinyin_terms() -> dict[str, str]:
    """`pinyin_terms` computed from the Chinese terms of data/reference/name_words.csv with pypinyin."""
    terms: dict[str, str] = {}
    for term, english in chinese_terms().items():
        if len(term) < 2 or not _HAN_RUN.fullmatch(term) or term != simplified(term):
            continue
        latin = run_pinyin(term)
        if latin and english.strip():
            for spelling in dict.fromkeys((latin.replace("ü", "v"), latin.replace("ü", "u"))):
                terms.setdefault(spelling, english.strip())
    return terms


@functools.lru_cache(maxsize=1)
def _dictionary_keys() -> pl.DataFrame:
    """Deletion keys of the common words whose misspellings are corrected."""
    places = {variant for variant in gazetteer_maps()[0] if variant.isalpha()}
    abbreviations = reference.meanings("abbreviation")
    words = (
        set(reference.words("generic"))
        | set(reference.words("spelled"))
        | set(abbreviations.values())
        | set(abbreviations)
        | set(reference.words("legal_form"))
        | places
    )
    single = sorted(word for word in words if " " not in word and len(word) >= CORRECTION_MIN_LENGTH)
    return deletion_keys(pl.DataFrame({"word": single}), "word").unique()


@functools.lru_cache(maxsize=1)
def _dictionary_words() -> pl.Series:
    """The common words whose misspellings are corrected, as one list value for `is_in`."""
    return _dictionary_keys()["word"].unique().sort().implode()


def deletion_keys(words: pl.DataFrame | pl.LazyFrame, column: str) -> pl.DataFrame:
    """Each word and every form of it with one character deleted (typo blocking); a key twice where deleting either
    of two like letters gives it ('coton' of 'cotton'): a join on the keys is followed by `unique` anyway."""
    positions, key = _deletions(column)
    return run(words.lazy().select(column, positions).explode("position").select(column, key))


@functools.lru_cache(maxsize=4)
def _deletions(column: str) -> tuple[pl.Expr, pl.Expr]:
    """`position` of each character to delete (-1: none) and the `key` left (built once per column)."""
    word, position = pl.col(column), pl.col("position")
    return (
        pl.int_ranges(-1, word.str.len_chars()).alias("position"),
        pl.when(position < 0).then(word).otherwise(word.str.slice(0, position) + word.str.slice(position + 1)).alias("key"),
    )


def _correct_spelling(padded: pl.Series, tokens: pl.Series) -> tuple[pl.Series, dict[str, str]]:
    """Common words misspelt by one typing error (one letter left out, added, changed or two swapped) after the first
    letter ('Indstrial', 'Traidng') replaced by the word, among the names' distinct words (`tokens`); a token that is
    itself pinyin ('Tangshan', not a misspelt 'Tianshan') is a word of its own. The names corrected, and each word
    corrected with its correction (every occurrence of it is corrected)."""
    dictionary = _dictionary_keys()
    unknown = run(
        tokens.rename("token")
        .to_frame()
        .lazy()
        .filter(
            pl.col("token").str.len_chars().is_between(CORRECTION_MIN_LENGTH, CORRECTION_MAX_LENGTH)
            & ~pl.col("token").str.contains(f"^{pinyin_word_regex()}$")
            & ~pl.col("token").is_in(_dictionary_words())
        )
    )
    if unknown.is_empty():
        return padded, {}
    pairs = run(
        deletion_keys(unknown, "token")
        .lazy()
        .join(dictionary.lazy(), on="key")
        .select("token", "word")
        .unique()
        .filter(pl.col("token").str.slice(0, 1) == pl.col("word").str.slice(0, 1))
    )
    if pairs.is_empty():
        return padded, {}
    misspelt, words = pairs["token"].to_list(), pairs["word"].to_list()
    workers = comparison_workers(len(misspelt))
    ratios = process.cpdist(misspelt, words, scorer=fuzz.ratio, workers=workers)
    edits = process.cpdist(misspelt, words, scorer=OSA.distance, workers=workers)
    best = run(
        pairs.lazy()
        .with_columns(ratio=pl.Series(ratios, dtype=pl.Float64), edits=pl.Series(edits, dtype=pl.Int64))
        .filter((pl.col("edits") == 1) & (pl.col("ratio") >= CORRECTION_MIN_RATIO))
        .sort(["ratio", "word"], descending=[True, False])
        .unique("token", keep="first")
    )
    if best.is_empty():
        return padded, {}
    corrections = dict(zip(best["token"].to_list(), best["word"].to_list(), strict=True))
    corrected = padded.str.replace_many(
        [_padded(token) for token in corrections], [_padded(word) for word in corrections.values()], leftmost=True
    )
    return corrected, corrections


PARALLEL_MIN_PAIRS = 10_000
"""rapidfuzz starts a thread per core for a parallel comparison (~0.1 ms): below this many pairs one thread is faster."""


def comparison_workers(pairs: int) -> int:
    """rapidfuzz's `workers` for comparing this many pairs: every core for many, the calling thread for a few."""
    return -1 if pairs >= PARALLEL_MIN_PAIRS else 1


def _padded(words: str) -> str:
    """A word sequence as it appears in a padded string: every word between its own spaces."""
    return " " + "  ".join(words.split()) + " "


TAIL_AFTER_LEGAL_FORM = (
    r"(?i)^(.*?(?:\b(?:co\.?,?\s*ltd|company\s+limited|limited|ltd|inc|corp|corporation|llc|gmbh|bhd|plc)\b\.?|"
    r"有限责任公司|股份有限公司|有限公司|公司))[\s,;.:-]*(?:[^\s,;.:-].*)$"
)
"""A name followed by more text after its legal form: a branch, factory, address or city."""
ADDRESS_TAIL = (
    r"(?i)^(.+?)\s*[,;]\s*(?:no\.?\s*\d|\d|[^,;]*\b(?:road|rd|street|st|avenue|district|building|floor|room|zone)\b"
    r"|[^,;]*\b\p{L}+-(?:do|si|gun|gu|eup|myeon|dong|ri|ro|gil|ken|shi|ku|cho|machi)\b"
    r"|[^,;]*,[^,;]*\d{4,}|[^,;]*\d{5,}).*$"
)
"""A name followed, after a comma, by an address (a street, a number, a postcode, or a Korean or Japanese
administrative unit as romanised: 'Jeungdo-myeon', 'Sinan-gun', 'Minato-ku')."""
BRANCH_TAIL = r"(?i)(\S)\s+(?:[^\s,;]+\s+)?(?:sub-?)?branch(?:\s+(?:office|factory|company))?\.?$"
"""A branch at the end of a name, with the word before it, which names where the branch is: 'KTK Group Qingdao
Branch' (a branch is the company itself, wherever it is). Searched for, not anchored at the name's start, so that
a batch's names without 'branch' are passed over quickly (1M names: 0.16 → 0.09 s)."""


def without_tail(name: pl.Expr) -> pl.Expr:
    """The name without what follows its legal form, without an address after a comma, or without a branch at its
    end."""
    return (
        name.str.replace(TAIL_AFTER_LEGAL_FORM, "${1}").str.replace(ADDRESS_TAIL, "${1}").str.replace(BRANCH_TAIL, "${1}")
    )


def _folded(names: pl.Series) -> pl.LazyFrame:
    """Column `folded`: each name folded (`_fold`). A few names are folded in the plan that reads them; in a batch,
    names all in ASCII are only cased (`_cased`): the Unicode steps leave them unchanged and are ~70 % of folding's
    time, and finding those names first costs a few trips to polars that a few names would not repay."""
    text = names.cast(pl.String).fill_null("").rename("name")
    if text.len() <= SMALL_FRAME:
        return text.to_frame().lazy().select(_fold(pl.col("name")).alias("folded"))
    beyond_ascii = (text.str.len_bytes() != text.str.len_chars()).arg_true()
    cased = text.to_frame().select(_cased(pl.col("name"))).to_series()
    if not beyond_ascii.is_empty():
        cased = cased.scatter(beyond_ascii, text.gather(beyond_ascii).to_frame().select(_fold(pl.col("name"))).to_series())
    return cased.alias("folded").to_frame().lazy()


def _fold(names: pl.Expr) -> pl.Expr:
    """NFKC, `_cased`, no diacritics."""
    return _cased(names.str.normalize("NFKC")).str.normalize("NFD").str.replace_all(r"\p{Mn}", "").str.normalize("NFC")


def _cased(names: pl.Expr) -> pl.Expr:
    """Words written in camel case apart ('SenseTime'), a legal form glued to the name apart ('TextileCo.,Ltd'),
    lower case."""
    return (
        names.str.replace_all(r"(\p{Ll})(\p{Lu}\p{Ll})", "${1} ${2}")
        .str.replace_all(r"(?i)(\p{L}{3})(co\s*[.,]+\s*ltd)", "${1} ${2}")
        .str.to_lowercase()
    )


def _latinise(folded: pl.Series) -> pl.Series:
    """Names in Chinese script (traditional folded to simplified) to English terms and pinyin, once per distinct name
    (`_spaced` gives it only such names)."""
    distinct = folded.unique()
    read = pl.Series([han_to_latin(simplified(text)) for text in distinct.to_list()], dtype=pl.String)
    latin = run(_folded(read))["folded"]
    return folded.replace(distinct, latin)


def han_key(names: pl.Series) -> pl.Series:
    """The Chinese characters of each name, in simplified script ('' when it has none): compared character by
    character, because names that sound alike (溢达, 怡达: both 'yida') are different names."""
    return _per_distinct_han(names, lambda text: "".join(_HAN_RUN.findall(simplified(text))))


def han_trade(names: pl.Series) -> pl.Series:
    """The trade name (字号) of Chinese-script names: the characters after the leading administrative divisions and
    before the first industry or legal-form word, brackets left out ('' for other names)."""
    return _per_distinct_han(names, _trade_of)


def _per_distinct_han(names: pl.Series, convert: Callable[[str], str]) -> pl.Series:
    text = pl.col(names.name).cast(pl.String)
    distinct = names.to_frame().select(text.filter(text.str.contains(r"\p{Han}")).unique()).to_series()
    if distinct.is_empty():
        return pl.repeat("", names.len(), dtype=pl.String, eager=True).alias(names.name)
    converted = pl.Series([convert(value) for value in distinct.to_list()], dtype=pl.String)
    return names.to_frame().select(
        text.fill_null("").replace_strict(distinct, converted, default="", return_dtype=pl.String)
    ).to_series()


def _trade_of(name: str) -> str:
    han = "".join(_HAN_RUN.findall(re.sub(r"[(（][^)）]*[)）]", "", simplified(name))))
    divisions, terms = _han_tables()
    stripped = divisions.sub("", han, count=1)
    while stripped != han:
        han, stripped = stripped, divisions.sub("", stripped, count=1)
    return terms.split(han, maxsplit=1)[0]


@functools.lru_cache(maxsize=1)
def _han_tables() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Leading administrative divisions, and Chinese industry and legal-form terms."""
    names = {name for row in reference.csv_columns(data_dir() / "reference" / "cn_divisions.csv", "name_zh", "short_zh")
             for name in row}
    names |= {name for name in gazetteer_maps()[1] if len(name) >= 2}
    longest = sorted(names, key=len, reverse=True)
    terms = sorted((term for term in chinese_terms() if _HAN_RUN.fullmatch(term)), key=len, reverse=True)
    return re.compile("^(?:" + "|".join(map(re.escape, longest)) + ")"), re.compile("|".join(map(re.escape, terms)))


@functools.lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("tw2sp")


def simplified(text: str) -> str:
    """Traditional Chinese (Taiwan and Hong Kong forms and words: 資訊 → 信息, 矽 → 硅) in simplified script."""
    return _converter().convert(text) if _HAN_RUN.search(text) else text


def _words(text: pl.Expr) -> pl.Expr:
    """Punctuation to spaces, every word padded by its own spaces."""
    spaced = (
        without(text, "'\u2019`")
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )
    return _padded_words(spaced)


def _padded_words(words: pl.Expr) -> pl.Expr:
    """Words of letters and digits apart by single spaces, every word padded by its own spaces."""
    return pl.lit(" ") + words.str.replace_all(" ", "  ", literal=True) + pl.lit(" ")


def _collapse(padded: pl.Expr) -> pl.Expr:
    return padded.str.replace_all(r"\s+", " ").str.strip_chars()


_RECENTLY_NORMALISED = {listed: Recent[str | None, pl.DataFrame]() for listed in (False, True)}


def normalize_frame(names: pl.Series, *, listed: bool = False) -> pl.DataFrame:
    """Normalised forms and which steps changed each name: columns norm (str) and steps (u8, a bit per step of
    NORMALISATION_STEPS; `steps_text` names them).

    Listed names (`listed=True`) are never spelling-corrected nor read with customs abbreviations: those are
    readings of what a supplier file may hold, not of what a list says. A few names (screener.recent) are read
    once: their results are kept for the next reading."""
    if names.is_empty() or names.len() > SMALL_FRAME:
        return _normalize_names(names, listed)
    values = names.to_list()
    results = _RECENTLY_NORMALISED[listed].through(values, lambda missing: _normalised_by_name(missing, listed))
    return pl.concat([results[value] for value in values])  # one name: its kept frame itself


def _normalised_by_name(names: list[str | None], listed: bool) -> dict[str | None, pl.DataFrame]:
    """Each name's normalised form, as a row of its own, the names normalised together."""
    normalised = _normalize_names(pl.Series(names, dtype=pl.String), listed)
    return {name: normalised.slice(position, 1) for position, name in enumerate(names)}


def _normalize_names(names: pl.Series, listed: bool) -> pl.DataFrame:
    patterns, targets, removals, syllable_pair = _tables(listed)
    spaced = _spaced(names)
    tokens = _distinct_words(spaced["spaced"])
    words, corrected = (spaced["spaced"], {}) if listed else _correct_spelling(spaced["spaced"], tokens)
    present = (set(tokens.to_list()) - corrected.keys()) | set(corrected.values())
    patterns, targets = _occurring(patterns, targets, present)
    replaced = pl.col("words").str.replace_many(patterns, targets, leftmost=True) if patterns else pl.col("words")
    reachable = present | {word for target in targets for word in target.split()}
    unlisted = run(
        spaced.lazy()
        .with_columns(words=words)
        .with_columns(replaced=replaced)
        .with_columns(delegal=_collapse(_removed(pl.col("replaced"), _reachable(removals, reachable))))
        .with_columns(unlisted=pl.col("delegal").str.split(" ").list.unique(maintain_order=True).list.join(" "))
    )
    joined_syllables = (
        unlisted["unlisted"].str.replace_all(syllable_pair, "${1}${2}")
        if listed
        else _join_syllable_runs(unlisted["unlisted"])
    )
    # `unlisted` is words of letters and digits apart by single spaces: `_words` made them, and the replacements and
    # corrections are such words (a test holds the tables to it), and joining syllables only takes spaces out between
    # words. Padded, they need nothing more than `_words` would do; collapsed again, they are what they were.
    removable = _reachable(removals, _present_words(joined_syllables))
    stripped = _collapse(_removed(_padded_words(pl.col("joined")), removable)) if removable else pl.col("joined")
    return run(
        unlisted.lazy()
        .with_columns(joined=pl.lit(joined_syllables))
        .with_columns(stripped=stripped, replaced_words=_collapse(pl.col("replaced")))
        .with_columns(kept=pl.when(pl.col("stripped") == "").then(pl.col("replaced_words")).otherwise(pl.col("stripped")))
        .select(*_norm_and_steps())
    )


NORMALISATION_STEPS = (
    "pinyin of Chinese script",
    "misspelt common words corrected",
    "abbreviations/place spellings unified",
    "pinyin syllables joined",
    "legal forms removed",
)
"""The steps that may change a name, by their bit in `normalize_frame`'s `steps`."""


@functools.cache
def _norm_and_steps() -> tuple[pl.Expr, pl.Expr]:
    """The normalised form, each word once, and the steps that changed the name as bits (built once: constant); the
    text of the steps is made only where it is shown (`steps_text`), for the few names that have a candidate."""
    changed = (
        pl.col("han"),
        pl.col("spaced") != pl.col("words"),
        pl.col("words") != pl.col("replaced"),
        pl.col("unlisted") != pl.col("joined"),
        pl.col("replaced_words") != pl.col("delegal"),
    )
    return (
        pl.col("kept").str.split(" ").list.unique(maintain_order=True).list.join(" ").alias("norm"),
        pl.sum_horizontal(condition.cast(pl.UInt8) * (1 << bit) for bit, condition in enumerate(changed))
        .cast(pl.UInt8)
        .alias("steps"),
    )


def steps_text(steps: pl.Expr, template: str = "{}") -> pl.Expr:
    """The steps that changed a name (`normalize_frame`'s `steps` bits), as text in `template`: 'legal forms removed;
    ...'; '' for none. Read from a table of every combination of steps (a gather, where a condition per step cost
    ~50 µs each on the few rows of a check)."""
    return pl.lit(_steps_texts(template)).gather(steps)


@functools.lru_cache(maxsize=4)
def _steps_texts(template: str) -> pl.Series:
    """The text of each value of the steps bits, its position."""
    texts = (
        "; ".join(step for bit, step in enumerate(NORMALISATION_STEPS) if value >> bit & 1)
        for value in range(1 << len(NORMALISATION_STEPS))
    )
    return pl.Series([template.format(text) if text else "" for text in texts], dtype=pl.String)


def _spaced(names: pl.Series) -> pl.DataFrame:
    """Columns folded (`_fold`), han (whether it holds Chinese script) and spaced: the folded name in Latin script
    (`_latinise`) as padded words; only the names in Chinese script are read again once in Latin script."""
    han, spaced_words = _folded_columns()
    spaced = run(_folded(names).with_columns(han, spaced_words))
    if not spaced["han"].any():
        return spaced
    rows = spaced["han"].arg_true()
    latin = _latinise(spaced["folded"].gather(rows))
    return spaced.with_columns(spaced["spaced"].scatter(rows, pl.select(_words(pl.lit(latin))).to_series()))


@functools.cache
def _folded_columns() -> tuple[pl.Expr, pl.Expr]:
    """han and spaced from folded (built once: constant)."""
    return (
        pl.col("folded").str.contains(r"\p{Han}").alias("han"),
        _words(pl.col("folded")).alias("spaced"),
    )


def _removed(padded: pl.Expr, removals: list[str]) -> pl.Expr:
    """The padded text with these legal forms and stopwords blanked out: only those `_reachable` in it, since
    `replace_many` builds its automaton anew on each call."""
    return padded.str.replace_many(removals, [" "] * len(removals), leftmost=True) if removals else padded


def _reachable(removals: list[str], reachable: set[str]) -> list[str]:
    """The removals whose every word is among the `reachable` words: no other can occur in the text."""
    return [removals[position] for position in _possible(removals, reachable)]


def _join_syllable_runs(words: pl.Series) -> pl.Series:
    """Runs of single pinyin syllables written apart, joined ('shi he zi hua fu' → 'shihezihuafu'; the matcher splits
    such runs back into list words), for the names that have one."""
    has_run = words.str.contains(_syllable_run_pattern())
    if not has_run.any():
        return words
    pair = _syllable_run()
    distinct = words.filter(has_run).unique()
    joined = pl.Series([pair.sub(lambda m: m.group(0).replace(" ", ""), text) for text in distinct.to_list()])
    return words.replace(distinct, joined)


@functools.lru_cache(maxsize=1)
def _syllable_run_pattern() -> str:
    """Two or more single syllables in a row ('he', 'she', 'you' count here: next to another syllable they are
    pinyin, not English)."""
    syllables = "|".join(sorted(PINYIN_SYLLABLES - _NOT_MERGED | RUN_SYLLABLES, key=len, reverse=True))
    return rf"\b(?:{syllables})(?: (?:{syllables})\b)+"


@functools.lru_cache(maxsize=1)
def _syllable_run() -> re.Pattern[str]:
    """`_syllable_run_pattern` compiled for Python (~7 ms): only for names that have such a run."""
    return re.compile(_syllable_run_pattern())


def normalize_series(names: pl.Series, *, listed: bool = False) -> pl.Series:
    """The normalised form of every name (vectorised)."""
    return normalize_frame(names, listed=listed)["norm"].rename(names.name or "norm")


def normalize_name(name: str, *, listed: bool = False) -> str:
    """The normalised form of one name."""
    return normalize_series(pl.Series([name], dtype=pl.String), listed=listed)[0]
