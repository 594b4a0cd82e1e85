"""The one loader of the name reference table data/reference/name_words.csv: words of company names by kind."""

from __future__ import annotations

import csv
import functools

from screener.paths import data_dir

KINDS = (
    "legal_form", "stopword", "abbreviation", "generic", "spelled", "old_romanisation", "chinese_term",
    "address_word", "place",
)


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    with (data_dir() / "reference" / "name_words.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            table[row["kind"]].setdefault(row["word"], row["meaning"])
    return table


def words(kind: str) -> tuple[str, ...]:
    """The words of one kind, in the table's order: legal forms, stopwords, generic words, ..."""
    return tuple(_table()[kind])


def meanings(kind: str) -> dict[str, str]:
    """Word → what it stands for: abbreviations, old romanisations, Chinese terms (their English)."""
    return dict(_table()[kind])
