"""The one loader of the name reference table data/reference/name_words.csv: words of company names by kind; and
the reader of a reference table's columns."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from pathlib import Path

from screener.paths import data_dir

KINDS = (
    "legal_form", "stopword", "abbreviation", "generic", "spelled", "old_romanisation", "chinese_term",
    "address_word", "place",
)


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for kind, word, meaning in csv_columns(data_dir() / "reference" / "name_words.csv", "kind", "word", "meaning"):
        table[kind].setdefault(word, meaning)
    return table


def csv_columns(path: Path, *columns: str) -> Iterator[tuple[str, ...]]:
    """The named columns of each row of a CSV file with a header, in file order: a tuple per row, not a dict (a
    check reads thousands of reference rows; csv.DictReader takes about three times as long)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        positions = [header.index(column) for column in columns]
        for row in rows:
            if row:  # a blank line, as csv.DictReader skips it
                yield tuple(row[position] for position in positions)


def words(kind: str) -> tuple[str, ...]:
    """The words of one kind, in the table's order: legal forms, stopwords, generic words, ..."""
    return tuple(_table()[kind])


def meanings(kind: str) -> dict[str, str]:
    """Word → what it stands for: abbreviations, old romanisations, Chinese terms (their English)."""
    return dict(_table()[kind])
