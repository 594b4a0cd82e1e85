"""One country normaliser for the matcher and the rules: any code or name a supplier file uses → ISO 3166 alpha-2."""

from __future__ import annotations

import functools

import polars as pl

from screener import reference
from screener.lookup import KeyMap
from screener.paths import data_dir

CHINA = "CN"
HONG_KONG_MACAO = ("HK", "MO")
"""Suppliers registered here often produce in the mainland: a stated HK/Macao country does not rule out XUAR."""


def _key(text: pl.Expr) -> pl.Expr:
    """Case, punctuation and spacing folded: 'P.R. China' and 'pr china' meet."""
    return (
        text.cast(pl.String)
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.strip_prefix("the ")
    )


@functools.lru_cache(maxsize=1)
def _codes() -> KeyMap:
    """Every folded code and name of data/reference/countries.csv → its alpha-2 code."""
    keys, codes = _keys()
    return KeyMap(dict(zip(keys, codes, strict=True)), pl.String())


@functools.lru_cache(maxsize=1)
def _keys() -> tuple[pl.Series, pl.Series]:
    """Every folded code and name of data/reference/countries.csv, and its alpha-2 code."""
    pairs: dict[str, str] = {}
    rows = reference.csv_columns(data_dir() / "reference" / "countries.csv", "iso2", "iso3", "numeric", "names")
    for iso2, iso3, numeric, names in rows:
        for form in (iso2, iso3, numeric, *names.split(";")):
            if form.strip():
                pairs.setdefault(form.strip(), iso2)
    folded = pl.select(_key(pl.lit(pl.Series(list(pairs), dtype=pl.String)))).to_series().to_list()
    keys = dict(zip(folded, pairs.values(), strict=True))
    return pl.Series(list(keys), dtype=pl.String), pl.Series(list(keys.values()), dtype=pl.String)


def country_code(country: pl.Expr) -> pl.Expr:
    """ISO 3166 alpha-2 code of a country code or name in any common form ('CHN', '中国', "People's Republic of
    China" → 'CN'); null when blank or unknown."""
    return _codes().get(_key(country))


def is_china(country: pl.Expr) -> pl.Expr:
    """The country is mainland China."""
    return _key(country).is_in(_forms_of((CHINA,))).fill_null(False)


def is_hong_kong_or_macao(country: pl.Expr) -> pl.Expr:
    return _key(country).is_in(_forms_of(HONG_KONG_MACAO)).fill_null(False)


@functools.lru_cache(maxsize=4)
def _forms_of(codes: tuple[str, ...]) -> pl.Expr:
    """The folded forms of these countries' codes and names, as one list literal: testing a country against a few
    forms costs far less than looking up its code among every country's."""
    keys, alpha2 = _keys()
    return pl.lit(keys.filter(alpha2.is_in(codes))).implode()
