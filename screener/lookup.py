"""Looking rows and words up in large tables at the cost of the answer, not of the table.

A polars join or `is_in` hashes the whole right side on every call: matching one name against an index of 200,000
list words, or testing its words against 14,000 common English words, would cost the size of the table each time.
These tables are sorted once by the hash of their key, and looked up with a binary search instead.
"""

from __future__ import annotations

import numpy as np
import polars as pl

HASH_SEED = 20231


def by_hash(table: pl.DataFrame, column: str) -> pl.DataFrame:
    """The table sorted by the hash of one key column, as `Index` reads it."""
    return table.sort(pl.col(column).hash(HASH_SEED), maintain_order=True)


class Index:
    """A table sorted by the hash of one key column (`by_hash`): looking rows up costs the size of the answer,
    not of the table, so matching stays nearly as fast when the lists grow tenfold."""

    def __init__(self, table: pl.DataFrame, column: str):
        self.hashes = table[column].hash(HASH_SEED).to_numpy()
        self.table = table
        self.column = column
        self.key_dtype = table.schema[column]

    @property
    def height(self) -> int:
        return self.table.height

    def rows(self, values: pl.Series) -> pl.DataFrame:
        """Rows whose key hashes like one of the values: join the result on the key (a hash collision may
        add a row whose key is not among the values)."""
        if values.dtype != self.key_dtype:
            values = values.cast(self.key_dtype)
        positions = self._positions(values)
        if positions.size == 0:
            return self.table.clear()
        return self.table[positions]

    def _positions(self, values: pl.Series) -> np.ndarray:
        """Row positions of the keys hashing like the values, in index order."""
        hashes = _distinct_sorted(values.hash(HASH_SEED).to_numpy())
        low = np.searchsorted(self.hashes, hashes, side="left")
        counts = np.searchsorted(self.hashes, hashes, side="right") - low
        return np.repeat(low - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values in ascending order: what `np.unique` gives, ~10x faster on 100,000 hashes (numpy 2's
    `np.unique` first hashes every value into a table)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if ordered.size else ordered


class WordSet:
    """A large set of words (a reference table), tested for membership at the cost of the words asked about."""

    def __init__(self, words: pl.Series):
        self._index = Index(by_hash(words.rename("word").unique().sort().to_frame(), "word"), "word")

    def among(self, words: pl.Series) -> pl.Series:
        """The set's words found among `words`, as one list value: `pl.col(...).is_in(word_set.among(...))` tests
        membership exactly against these few words."""
        return self._index.rows(words)["word"].implode()
