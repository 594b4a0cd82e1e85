"""Name normalisation: the forms the matcher compares.

Steps, in order (all vectorised except Chinese script, which goes through pypinyin once per distinct name):
Unicode NFKC, case fold and diacritics; Chinese script to English terms and pinyin; '&' to 'and' and
punctuation to spaces; place-name variants and old romanisations to pinyin; abbreviations expanded and
word forms unified; split pinyin syllables joined ('zhong tai' → 'zhongtai'); legal forms and stopwords
dropped; repeated words dropped.
"""

from __future__ import annotations

import functools

import polars as pl

from screener.transliterate import OLD_ROMANISATIONS, PINYIN_SYLLABLES, gazetteer_maps, han_to_latin

VERSION = "2"

ABBREVIATIONS = {
    "tex": "textile", "textiles": "textile", "txtl": "textile", "ind": "industry", "inds": "industry",
    "indl": "industry", "indus": "industry", "industries": "industry", "industrial": "industry", "grp": "group",
    "intl": "international", "intnl": "international", "trd": "trade", "trdg": "trade", "trading": "trade",
    "info": "information", "tech": "technology", "techn": "technology", "techs": "technology",
    "technologies": "technology", "elec": "electronic", "electronics": "electronic", "matl": "material",
    "matls": "material", "materials": "material", "mfg": "manufacture", "mfr": "manufacture",
    "mfrs": "manufacture", "manufacturing": "manufacture", "manufacturer": "manufacture", "prod": "product",
    "prods": "product", "products": "product", "dev": "development", "devt": "development", "sci": "science",
    "sciences": "science", "biotech": "biotechnology", "bio technology": "biotechnology",
    "biological technology": "biotechnology", "hldgs": "holdings", "hldg": "holding", "constr": "construction",
    "natl": "national", "chem": "chemical", "chemicals": "chemical", "pharm": "pharmaceutical",
    "pharma": "pharmaceutical", "pharmaceuticals": "pharmaceutical", "agri": "agriculture", "agric": "agriculture",
    "agricultural": "agriculture", "agro": "agriculture", "engg": "engineering", "equip": "equipment",
    "svc": "service", "svcs": "service", "services": "service", "mgmt": "management", "mach": "machinery",
    "univ": "university", "inst": "institute", "govt": "government", "dept": "department", "bur": "bureau",
    "psb": "public security bureau", "metal": "metals", "garments": "garment", "apparels": "apparel",
    "foods": "food", "logistic": "logistics", "econ": "economic", "assn": "association", "bros": "brothers",
    "gloves": "glove", "mills": "mill", "works": "work", "farms": "farm", "factories": "factory",
}
"""Abbreviations and word forms, to one canonical word (applied to whole words only)."""

LEGAL_FORMS = (
    "co", "company", "companies", "ltd", "limited", "corp", "corporation", "inc", "incorporated", "llc", "plc",
    "bhd", "berhad", "sdn", "pte", "pvt", "gmbh", "ag", "sa", "srl", "sarl", "spa", "bv", "nv", "kk", "ltda", "lp",
    "llp", "jsc", "ojsc", "pjsc", "cjsc", "ooo", "tbk", "pt", "cv", "group", "holding", "holdings", "cooperative",
    "youxian gongsi", "youxiangongsi", "youxian zeren gongsi", "gufen", "gongsi", "zeren", "jituan", "konggu",
    "s a de c v", "sa de cv", "de cv", "s de rl", "s de rl de cv", "s a", "s r l", "s p a", "private limited",
    "pvt ltd", "co ltd",
)
STOPWORDS = ("the", "of", "and")
_NOT_MERGED = {"a", "e", "o", "an", "he", "me", "she", "you", "die", "lie", "ne", "ye", "yo", "ban", "bin", "tan", "pan"}


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[list[str], list[str], list[str], str]:
    """Word-sequence replacements (patterns, replacements), removals, and the syllable-join regex."""
    places, _ = gazetteer_maps()
    replacements = {**OLD_ROMANISATIONS, **places, **ABBREVIATIONS}
    longest_first = sorted(replacements, key=lambda key: (-len(key.split()), -len(key)))
    patterns = [_padded(key) for key in longest_first]
    targets = [_padded(replacements[key]) for key in longest_first]
    removals = [_padded(form) for form in sorted((*LEGAL_FORMS, *STOPWORDS), key=lambda f: -len(f.split()))]
    syllables = "|".join(sorted(PINYIN_SYLLABLES - _NOT_MERGED, key=len, reverse=True))
    return patterns, targets, removals, rf"\b({syllables}) ({syllables})\b"


def _padded(words: str) -> str:
    """A word sequence as it appears in a padded string: every word between its own spaces."""
    return " " + "  ".join(words.split()) + " "


def _fold(names: pl.Series) -> pl.Series:
    """NFKC, lower case, no diacritics."""
    return (
        names.cast(pl.String)
        .fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
        .str.normalize("NFC")
    )


def _latinise(folded: pl.Series) -> pl.Series:
    """Chinese script to English terms and pinyin (pypinyin once per distinct name containing Chinese)."""
    has_han = folded.str.contains(r"\p{Han}")
    distinct = folded.filter(has_han).unique()
    if distinct.is_empty():
        return folded
    latin = _fold(pl.Series([han_to_latin(text) for text in distinct.to_list()], dtype=pl.String))
    return folded.replace(distinct, latin)


def _words(text: pl.Series) -> pl.Series:
    """Punctuation to spaces, every word padded by its own spaces."""
    spaced = (
        text.str.replace_all(r"['\u2019`]", "")
        .str.replace_all("&", " and ")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )
    return " " + spaced.str.replace_all(" ", "  ") + " "


def _collapse(padded: pl.Series) -> pl.Series:
    return padded.str.replace_all(r"\s+", " ").str.strip_chars()


def normalize_frame(names: pl.Series) -> pl.DataFrame:
    """Normalised forms and which steps changed each name: columns norm (str) and steps (list[str])."""
    patterns, targets, removals, syllable_pair = _tables()
    folded = _fold(names)
    latin = _latinise(folded)
    words = _words(latin)
    replaced = words.str.replace_many(patterns, targets, leftmost=True)
    blanks = [" "] * len(removals)
    unlisted = _collapse(replaced.str.replace_many(removals, blanks, leftmost=True))
    joined = _words(unlisted.str.replace_all(syllable_pair, "${1}${2}"))
    stripped = _collapse(joined.str.replace_many(removals, blanks, leftmost=True))
    kept = pl.when(stripped == "").then(_collapse(replaced)).otherwise(stripped)
    frame = pl.DataFrame({"words": words, "replaced": replaced, "unlisted": unlisted, "joined": joined, "stripped": stripped})
    return frame.select(
        norm=kept.str.split(" ").list.unique(maintain_order=True).list.join(" "),
        steps=pl.concat_list(
            pl.when(folded.str.contains(r"\p{Han}")).then(pl.lit("pinyin of Chinese script")),
            pl.when(pl.col("words") != pl.col("replaced")).then(pl.lit("abbreviations/place spellings unified")),
            pl.when(pl.col("unlisted") != _collapse(pl.col("joined"))).then(pl.lit("pinyin syllables joined")),
            pl.when(_collapse(pl.col("replaced")) != pl.col("unlisted")).then(pl.lit("legal forms removed")),
        ).list.drop_nulls(),
    )


def normalize_series(names: pl.Series) -> pl.Series:
    """The normalised form of every name (vectorised)."""
    return normalize_frame(names)["norm"].rename(names.name or "norm")


def normalize_name(name: str) -> str:
    """The normalised form of one name."""
    return normalize_series(pl.Series([name], dtype=pl.String))[0]
