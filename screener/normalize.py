"""Name normalisation: the forms the matcher compares."""

from __future__ import annotations

import polars as pl

VERSION = "1"

LEGAL_FORMS = (
    "co", "ltd", "limited", "company", "corp", "corporation", "inc", "incorporated", "group", "holdings",
    "holding", "llc", "plc", "bhd", "sdn", "pte", "gmbh", "sa", "srl", "cooperative",
)
_CHINESE_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")


def normalize_series(names: pl.Series) -> pl.Series:
    """Case-fold, drop punctuation and legal forms, collapse spaces (vectorised)."""
    legal = r"\b(?:" + "|".join(LEGAL_FORMS) + r")\b"
    chinese = "|".join(_CHINESE_LEGAL_FORMS)
    return (
        names.cast(pl.String)
        .fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("&", " and ")
        .str.replace_all(chinese, " ")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.replace_all(legal, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def normalize_name(name: str) -> str:
    """The normalised form of one name."""
    return normalize_series(pl.Series([name]))[0]
