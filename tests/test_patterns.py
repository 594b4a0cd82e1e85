"""Fixed text rewritten without a regular expression gives what the pattern gave."""

from __future__ import annotations

import polars as pl

from screener.patterns import without

TEXTS = ["O'Neill’s `Best` Co", "Xinjiang ʼAksu", "'''", "", None, "no marks at all"]


def test_without_removes_each_character_as_a_character_class_would() -> None:
    frame = pl.DataFrame({"text": TEXTS}, schema={"text": pl.String})
    for characters in ("'\u2019`", "'’ʼ"):
        removed = frame.select(without(pl.col("text"), characters))["text"].to_list()
        assert removed == frame.select(pl.col("text").str.replace_all(f"[{characters}]", ""))["text"].to_list()
    assert frame.select(without(pl.col("text"), "'\u2019`"))["text"].to_list()[:2] == ["ONeills Best Co", "Xinjiang ʼAksu"]
