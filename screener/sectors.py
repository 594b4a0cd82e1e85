"""UFLPA high-priority sectors: detecting them from product descriptions and HS codes, vectorised."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import polars as pl

SECTOR_FIELDS = ("sector", "sector_designated", "sector_designation", "sector_url", "sector_evidence")
"""Columns `sector_hits` returns besides `row`; also the reason-template placeholders of sector rules."""


@dataclass(frozen=True)
class Sector:
    """One high-priority sector and how to recognise its goods."""

    id: str
    name: str
    designated: dt.date
    designation: str
    source_url: str
    keywords: tuple[str, ...] = ()
    keywords_zh: tuple[str, ...] = ()
    hs_prefixes: tuple[str, ...] = ()

    def keyword_pattern(self) -> str | None:
        """Whole-word, case-insensitive, optionally plural English keywords.

        Word edges are ASCII ones, so a keyword written against Chinese text ("PVC塑料地板") is still a word."""
        if not self.keywords:
            return None
        words = "|".join(
            re.escape(word).replace(r"\ ", r"[\s\-]+") for word in sorted(self.keywords, key=len, reverse=True)
        )
        return rf"(?i)(?-u:\b)(?:{words})s?(?-u:\b)"

    def keyword_zh_pattern(self) -> str | None:
        if not self.keywords_zh:
            return None
        return "(?i)(?:" + "|".join(re.escape(word) for word in sorted(self.keywords_zh, key=len, reverse=True)) + ")"

    def hs_pattern(self) -> str | None:
        if not self.hs_prefixes:
            return None
        return "^(?:" + "|".join(prefix.replace(".", "") for prefix in self.hs_prefixes) + ")"


def hs_digits(hs_code: pl.Expr) -> pl.Expr:
    """HS code digits, dots and spaces removed, with the leading zero a spreadsheet dropped put back ("304.71")."""
    cleaned = hs_code.str.replace_all(r"[^0-9.]", "").str.strip_chars(".")
    head = cleaned.str.extract(r"^([0-9]+)", 1)
    lost_zero = (head.str.len_chars() % 2 == 1) & cleaned.str.contains(r"\.") | (
        ~cleaned.str.contains(r"\.") & cleaned.str.len_chars().is_in([3, 5, 7, 9])
    )
    digits = cleaned.str.replace_all(r"\.", "")
    return pl.when(digits == "").then(None).when(lost_zero).then(pl.lit("0") + digits).otherwise(digits)


def sector_hits(suppliers: pl.DataFrame, sectors: tuple[Sector, ...]) -> pl.DataFrame:
    """One row per (supplier row, sector) whose product description or HS code falls in the sector, by row, then in
    the sectors' order. Each distinct (product, HS code) is read once: a supplier file names few goods, many times."""
    goods = suppliers.select("row", product=pl.col("product"), hs=pl.col("hs_code"))
    schema = {"row": goods.schema["row"], **dict.fromkeys(SECTOR_FIELDS, pl.String())}
    kinds = goods.select("product", "hs").unique().with_columns(hs_digits=hs_digits(pl.col("hs")))
    frames = [
        kinds.select("product", "hs", sector_evidence=_evidence(sector))
        .filter(pl.col("sector_evidence").is_not_null())
        .select(
            "product",
            "hs",
            order=pl.lit(order, pl.UInt32),
            sector=pl.lit(sector.name),
            sector_designated=pl.lit(sector.designated.isoformat()),
            sector_designation=pl.lit(sector.designation),
            sector_url=pl.lit(sector.source_url),
            sector_evidence="sector_evidence",
        )
        for order, sector in enumerate(sectors)
    ]
    if not any(frame.height for frame in frames):
        return pl.DataFrame(schema=schema)
    return (
        goods.join(pl.concat(frames), on=["product", "hs"], nulls_equal=True)
        .sort("row", "order")
        .select(pl.col("row"), *(pl.col(field).cast(pl.String) for field in SECTOR_FIELDS))
    )


def _evidence(sector: Sector) -> pl.Expr:
    """Why a row's product falls in the sector (keywords found, HS prefix), null when it does not."""
    evidence = []
    for pattern in (sector.keyword_pattern(), sector.keyword_zh_pattern()):
        if pattern:
            word = pl.col("product").str.extract(f"({pattern})", 1)
            evidence.append(pl.format("product '{}' mentions '{}'", pl.col("product"), word))
    if sector.hs_pattern():
        prefix = pl.col("hs_digits").str.extract(f"({sector.hs_pattern()})", 1)
        evidence.append(pl.format("HS code {} is under {}", pl.col("hs"), _dotted(prefix)))
    return (
        pl.concat_str(evidence, separator="; ", ignore_nulls=True).replace("", None)
        if evidence
        else pl.lit(None, pl.String)
    )


def _dotted(prefix: pl.Expr) -> pl.Expr:
    """'280461' → '2804.61', '03' → '03' (chapter), '3818' → '3818' (heading)."""
    return (
        pl.when(prefix.str.len_chars() > 4).then(prefix.str.slice(0, 4) + "." + prefix.str.slice(4)).otherwise(prefix)
    )
