"""Reading a company name by its structure: administrative division, trade name (字号), industry, qualifiers.

Chinese enterprise names follow 行政区划 + 字号 + 行业 + 组织形式 (division + trade name + industry + organisational
form), and their pinyin and English renderings keep that order or put the place in brackets. Each word of a
normalised name gets one role:

- `place`: a division at the start of the name (each within the one before: "Xinjiang Kashi Yecheng"), or a
  province, prefecture or XUAR place anywhere; its `region` is the province (or country) it lies in;
- `industry`: a word of a specific trade, with its `group` ("garment" → textile, "sugar" → food);
- `generic`: words of any company name ("technology", "development", "group");
- `common`: frequent English words ("union", "century", "production"): sharing one says little;
- `number`: numbers and words of one or two letters ("HY", "JA": initials identify nothing alone);
- `trade`: everything else — the distinctive core.

A name left without a trade word keeps its last leading place as the trade name ("Hongyuan Green Energy":
Hongyuan is also a county in Sichuan). Reference tables live in data/reference/ (see scripts/build_reference.py).
"""

from __future__ import annotations

import functools

import polars as pl

from screener import reference
from screener.lookup import WordSet
from screener.paths import data_dir
from screener.plans import run
from screener.transliterate import gazetteer_maps

ROLE_WEIGHTS = {"trade": 1.0, "common": 0.3, "number": 0.3, "place": 0.25, "industry": 0.15, "generic": 0.15}
"""How much a word of each role counts towards a match (trade words are further scaled by their rarity)."""

COUNTRY_WORDS = {
    "vietnam": "VN", "cambodia": "KH", "bangladesh": "BD", "india": "IN", "pakistan": "PK", "indonesia": "ID",
    "malaysia": "MY", "thailand": "TH", "philippines": "PH", "myanmar": "MM", "laos": "LA", "turkey": "TR",
    "turkiye": "TR", "mexico": "MX", "brazil": "BR", "korea": "KR", "japan": "JP", "usa": "US", "america": "US",
    "germany": "DE", "italy": "IT", "france": "FR", "spain": "ES", "uk": "GB", "britain": "GB",
    "kazakhstan": "KZ", "uzbekistan": "UZ", "kyrgyzstan": "KG", "russia": "RU", "mongolia": "MN", "nepal": "NP",
    "taiwan": "TW", "hongkong": "HK", "macau": "MO", "macao": "MO", "serbia": "RS",
}
"""Country words of company names, with the region key they stand for."""

DIVERSIFIED_WORD = "industry"
"""'Industrial', 实业: as a name's only industry word it states an industry of its own (a diversified business), as
the enterprise-name rules read it, so 'Yasheng Industrial' and 'Yasheng International Trade' are two companies."""
DIVERSIFIED_GROUP = "industrial"

EMPTY_ROLES = {"role": pl.String, "region": pl.String, "group": pl.String}


@functools.lru_cache(maxsize=1)
def places() -> pl.DataFrame:
    """Place word → region (province pinyin or country code) and level (province, prefecture, county, xuar)."""
    rows = list(reference.csv_columns(data_dir() / "reference" / "cn_divisions.csv", "pinyin", "province", "level"))
    rows += [(word, "xinjiang", "xuar") for word in _unambiguous_xuar_places()]
    rows += [(word, code, "province") for word, code in COUNTRY_WORDS.items()]
    old = set(reference.meanings("old_romanisation").values())
    known = {word for word, _, _ in rows}
    rows += [(word, word, "province") for word in old - known if word != "uyghur"]
    frame = pl.DataFrame(rows, schema={"word": pl.String, "region": pl.String, "level": pl.String}, orient="row")
    return frame.unique().sort("word", "region", "level")


def _unambiguous_xuar_places() -> set[str]:
    """XUAR place words that name nothing else (the gazetteer marks 'Shanshan', 'Yili', ... as ambiguous)."""
    canonical = gazetteer_maps()[0]
    places = reference.csv_columns(data_dir() / "gazetteer" / "xuar_places.csv", "name_pinyin", "ambiguous")
    ambiguous = {pinyin.lower().replace(" ", "") for pinyin, is_ambiguous in places if is_ambiguous == "yes"}
    return {word for word in set(canonical.values()) - {"xpcc"} if " " not in word and word not in ambiguous}


@functools.lru_cache(maxsize=1)
def industries() -> pl.DataFrame:
    """Industry word → industry group."""
    return pl.read_csv(data_dir() / "reference" / "industries.csv", schema={"word": pl.String, "group": pl.String})


@functools.lru_cache(maxsize=1)
def common_words() -> WordSet:
    """English words frequent enough that sharing one identifies nothing."""
    text = (data_dir() / "reference" / "common_words.txt").read_text(encoding="utf-8")
    return WordSet(pl.Series("word", text.split(), dtype=pl.String))


def word_roles(
    names: pl.DataFrame, key: str, generic: pl.Series, pinyin_word: pl.Expr, bracketed: pl.DataFrame
) -> pl.DataFrame:
    """One row per (key, word) of the normalised names (`norm`, each word once, as `normalize_frame` gives it; one
    name per key): position, role, region and industry group.

    `generic` lists the words of any company name (one list value, as `is_in` takes it); `pinyin_word` tells words made of pinyin syllables (never
    'common', whatever English they spell); `bracketed` holds the (key, word) pairs written in brackets, where a
    division name is a place wherever it stands ('Hoshine Silicon (Luzhou)')."""
    words = name_words(names, key)
    placed = words.lazy().join(_place_words().lazy(), on="word", how="left")
    if bracketed.is_empty():
        placed = placed.with_columns(bracketed=pl.lit(None, pl.Boolean))
    else:
        placed = placed.join(
            bracketed.lazy().unique().with_columns(bracketed=pl.lit(True)), on=[key, "word"], how="left"
        )
    plan = (
        placed.join(industries().lazy(), on="word", how="left")
        .with_columns(
            generic_word=pl.col("word").is_in(generic),
            common_word=pl.col("word").is_in(common_words().among(words["word"])) & ~pinyin_word,
        )
        .sort(key, "pos")
    )
    for step in _role_steps(key):
        plan = plan.with_columns(step)
    return run(
        plan.select(
            key, "word", "pos", "role", region=_when_role("place", "regions"), group=_when_role("industry", "group")
        )
    )


def name_words(names: pl.DataFrame, key: str) -> pl.DataFrame:
    """(key, word, pos): the words of the normalised names (`norm`) and their positions, the rows `word_roles` gives
    roles to."""
    return run(
        names.lazy()
        .select(*_words_and_positions(key))
        .explode(["word", "pos"])
        .filter(pl.col("word").is_not_null() & (pl.col("word") != ""))
    )


@functools.lru_cache(maxsize=8)
def _words_and_positions(key: str) -> tuple[pl.Expr | str, ...]:
    split = pl.col("norm").str.split(" ")
    return key, split.alias("word"), pl.int_ranges(0, split.list.len()).alias("pos")


@functools.lru_cache(maxsize=8)
def _role_steps(key: str) -> tuple[pl.Expr, ...]:
    """The steps that give each word of a name its role, on words sorted by (`key`, pos), one column each: a name's
    words are rows `start` to `end`, and what a window over the name would ask (its first word's regions, whether
    any word has a role) is read from those rows and running counts, which costs a tenth of a window."""
    region_of_first = pl.col("regions").is_not_null() & (
        pl.col("regions").list.set_intersection(pl.col("first_regions")).list.len() > 0
    )
    place = pl.col("in_run") | (
        pl.col("regions").is_not_null() & (pl.col("anywhere") | pl.col("bracketed").fill_null(False))
    )
    role = (
        pl.when(pl.col("group").is_not_null())
        .then(pl.lit("industry"))
        .when(place)
        .then(pl.lit("place"))
        .when(pl.col("generic_word"))
        .then(pl.lit("generic"))
        .when(pl.col("word").str.contains(r"\d") | (pl.col("word").str.len_chars() <= 2))
        .then(pl.lit("number"))
        .when(pl.col("common_word"))
        .then(pl.lit("common"))
        .otherwise(pl.lit("trade"))
    )
    alone = (pl.col("word") == DIVERSIFIED_WORD) & (_in_name("industries") == 0)
    last_place = pl.col("places") == pl.col("places").gather(pl.col("end"))
    last_run_place = (pl.col("role") == "place") & pl.col("in_run") & last_place
    key_column = pl.col(key)
    row = pl.int_range(pl.len())
    return (
        pl.when(key_column.ne_missing(key_column.shift(1))).then(row).forward_fill().alias("start"),
        pl.when(key_column.ne_missing(key_column.shift(-1))).then(row).backward_fill().alias("end"),
        pl.col("regions").gather(pl.col("start")).alias("first_regions"),
        *_running_count(~region_of_first, "misses"),
        (pl.col("misses") == _before_name("misses")).alias("in_run"),
        role.alias("role"),
        *_running_count(pl.col("role") == "industry", "industries"),
        pl.when(alone).then(pl.lit(DIVERSIFIED_GROUP)).otherwise(pl.col("group")).alias("group"),
        pl.when(alone).then(pl.lit("industry")).otherwise(pl.col("role")).alias("role"),
        *_running_count(pl.col("role") == "trade", "trades"),
        *_running_count(pl.col("role") == "place", "places"),
        pl.when((_in_name("trades") == 0) & last_run_place & pl.col("county") & ~pl.col("anywhere"))
        .then(pl.lit("trade"))
        .otherwise(pl.col("role"))
        .alias("role"),
    )


def _running_count(condition: pl.Expr, name: str) -> tuple[pl.Expr, pl.Expr]:
    """Column `name`: how many rows up to this one meet the condition; `name`_here: whether this one does."""
    return condition.cast(pl.UInt32).alias(f"{name}_here"), pl.col(f"{name}_here").cum_sum().alias(name)


def _before_name(running: str) -> pl.Expr:
    """The running count before the first word of this row's name."""
    start = pl.col("start")
    return pl.col(running).gather(start) - pl.col(f"{running}_here").gather(start)


def _in_name(running: str) -> pl.Expr:
    """How many words of this row's name the running count counts."""
    return pl.col(running).gather(pl.col("end")) - _before_name(running)


def _when_role(role: str, column: str) -> pl.Expr:
    return pl.when(pl.col("role") == role).then(pl.col(column))


@functools.lru_cache(maxsize=1)
def _place_words() -> pl.DataFrame:
    """Place word → the regions it may stand for, whether it is a place anywhere in a name, and whether a county."""
    return places().group_by("word", maintain_order=True).agg(
        regions=pl.col("region"),
        anywhere=pl.col("level").is_in(["province", "prefecture", "xuar"]).any(),
        county=(pl.col("level") == "county").any(),
    )
