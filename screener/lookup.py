"""Looking rows and words up in large tables at the cost of the answer, not of the table.

A polars join or `is_in` hashes the whole right side on every call: matching one name against an index of 200,000
list words, or testing its words against 14,000 common English words, would cost the size of the table each time.
These tables are sorted once by the hash of their key, and looked up with a binary search instead. Small fixed
mappings (a few thousand keys at most) are compiled into an enum type once, and read with a cast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

HASH_SEED = 20231


def key_hashes(keys: pl.Series) -> np.ndarray:
    """The hash `Index` orders and finds keys by: their row hash, one call into polars (~20 µs on the few keys of a
    single check, where `Series.hash`, run as an expression, takes ~50)."""
    return keys.to_frame().hash_rows(seed=HASH_SEED).to_numpy()


def by_hash(table: pl.DataFrame, column: str) -> pl.DataFrame:
    """The table sorted by the hash of one key column, as `Index` reads it."""
    return table[pl.Series(np.argsort(key_hashes(table[column]), kind="stable"))]


class Index:
    """A table sorted by the hash of one key column (`by_hash`): looking rows up costs the size of the answer,
    not of the table, so matching stays nearly as fast when the lists grow tenfold."""

    def __init__(self, table: pl.DataFrame, column: str):
        self.hashes = key_hashes(table[column])
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
        return self.table[pl.Series(positions)]  # a Series gathers in ~25 µs, a numpy array in ~60

    def _positions(self, values: pl.Series) -> np.ndarray:
        """Row positions of the keys hashing like the values, in index order."""
        hashes = _distinct_sorted(key_hashes(values))
        low = np.searchsorted(self.hashes, hashes, side="left")
        return ranges(low, np.searchsorted(self.hashes, hashes, side="right") - low)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions of consecutive runs, one after another: start, start + 1, ... for `count` positions each."""
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


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


class KeyMap:
    """A fixed mapping of text keys to values (a few thousand keys at most), compiled once into an enum type of its
    keys: a column is mapped by a cast to that type and a gather (~40 µs on the few rows of a check), where
    `replace_strict` hashes the mapping on every call (~180 µs for six keys, ~430 µs for 1,300 country names). The
    enum is rebuilt from its keys whenever a plan is run, so a large table of words belongs in an `Index`."""

    def __init__(self, mapping: Mapping[str, Any], dtype: pl.DataType):
        self._keys = pl.Enum(list(mapping))
        self._values = pl.Series(list(mapping.values()), dtype=dtype)

    def get(self, key: pl.Expr, default: Any = None) -> pl.Expr:
        """Each key's value; `default` where the key is null or not in the mapping (as `replace_strict` gives)."""
        value = pl.lit(self._values).gather(key.cast(self._keys, strict=False).to_physical())
        return value if default is None else value.fill_null(pl.lit(default, self._values.dtype))

    def replaced(self, key: pl.Expr) -> pl.Expr:
        """Each key's value where it has one, else the key itself (as `replace` gives)."""
        return pl.coalesce(self.get(key), key)
