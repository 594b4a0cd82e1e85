"""The matcher's index kept on disk: reused while nothing it is built from changes, rebuilt when a list, the
thresholds' neighbours or the file itself changed, and never trusted when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from screener.embedded import read_embedded
from screener.matching import MatchConfig, Matcher, index_key

QUERIES = pl.DataFrame(
    {
        "row": [0, 1, 2, 3, 4],
        "name": [
            "Hoshine Silicon Industry (Shanshan) Co., Ltd.",
            "新疆中泰化学股份有限公司",
            "XINJIANG ZHONGTAI CHEM CO LTD, URUMQI",
            "Nordic Timber AB",
            "Hetian Taida Apparel",
        ],
        "country": ["CN", "CN", None, "SE", "CN"],
        "address": ["Shanshan County, Turpan, Xinjiang", None, None, None, "Hotan"],
    }
)


@pytest.fixture(scope="module")
def lists() -> tuple[pl.DataFrame, pl.DataFrame]:
    embedded = read_embedded()
    names = pl.concat([item.names for item in embedded], how="vertical_relaxed")
    entities = pl.concat([item.entities for item in embedded], how="vertical_relaxed")
    return names, entities


@pytest.fixture(scope="module")
def in_memory(lists) -> pl.DataFrame:
    return Matcher(*lists).match(QUERIES)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("index-*"))


def test_the_index_is_stored_once_and_read_back_with_the_same_results(lists, in_memory, tmp_path) -> None:
    built = Matcher(*lists, cache_dir=tmp_path).match(QUERIES)
    [entry] = entries(tmp_path)
    written = {path.name: path.stat().st_mtime_ns for path in entry.iterdir()}
    reread = Matcher(*lists, cache_dir=tmp_path).match(QUERIES)
    assert {path.name: path.stat().st_mtime_ns for path in entry.iterdir()} == written
    assert_frame_equal(built, in_memory)
    assert_frame_equal(reread, in_memory)


def test_a_changed_list_builds_a_new_index(lists, tmp_path) -> None:
    names, entities = lists
    Matcher(names, entities, cache_dir=tmp_path)
    added = names.head(1).with_columns(name=pl.lit("Qoqanbay Zhenxing Knitting Works"), kind=pl.lit("alias"))
    grown = pl.concat([names, added], how="vertical_relaxed")
    found = Matcher(grown, entities, cache_dir=tmp_path).check("Qoqanbay Zhenxing Knitting Works")
    assert len(entries(tmp_path)) == 2
    assert found["matched_name"].to_list()[:1] == ["Qoqanbay Zhenxing Knitting Works"]
    moved = entities.with_columns(country=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("VN")).otherwise("country"))
    assert index_key(names, moved) != index_key(names, entities) != index_key(grown, entities)


def test_other_thresholds_share_the_index_and_apply_their_own_bands(lists, tmp_path) -> None:
    strict = MatchConfig(match_threshold=99.0, review_threshold=90.0)
    Matcher(*lists, cache_dir=tmp_path)
    cached = Matcher(*lists, strict, cache_dir=tmp_path).match(QUERIES)
    assert len(entries(tmp_path)) == 1
    assert_frame_equal(cached, Matcher(*lists, strict).match(QUERIES))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "missing", "manifest"])
def test_a_damaged_index_is_rebuilt_not_trusted(lists, in_memory, tmp_path, damage) -> None:
    Matcher(*lists, cache_dir=tmp_path)
    [entry] = entries(tmp_path)
    table = entry / "name_words.arrow"
    content = table.read_bytes()
    if damage == "garbage":
        table.write_bytes(b"not an arrow file")
    elif damage == "truncated":
        table.write_bytes(content[: len(content) // 2])
    elif damage == "flipped":
        middle = len(content) // 2
        table.write_bytes(content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :])
    elif damage == "missing":
        table.unlink()
    else:
        (entry / "manifest.json").write_text("{", encoding="utf-8")
    assert_frame_equal(Matcher(*lists, cache_dir=tmp_path).match(QUERIES), in_memory)
    manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
    assert table.read_bytes() != b"not an arrow file" and set(manifest["tables"]) >= {"name_words", "names"}
    assert_frame_equal(Matcher(*lists, cache_dir=tmp_path).match(QUERIES), in_memory)


def test_a_folder_that_cannot_be_written_leaves_the_index_in_memory(lists, in_memory, tmp_path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    assert_frame_equal(Matcher(*lists, cache_dir=blocked / "index").match(QUERIES), in_memory)
