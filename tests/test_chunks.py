"""Frames worked in chunks, in threads of their own (screener.chunks)."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from screener import chunks
from screener.cpu import on_one_core, usable_cores


@pytest.mark.parametrize(
    ("height", "threads"),
    [(0, 2), (1, 2), (3_999, 2), (4_000, 2), (87_080, 2), (100_000, 1), (100_001, 3), (25_000, 4)],
)
def test_chunks_cover_every_row_once_and_share_evenly_between_threads(height: int, threads: int) -> None:
    bounds = chunks.chunk_bounds(height, threads)
    rows = [row for offset, length in bounds for row in range(offset, min(offset + length, height))]
    assert rows == list(range(height))
    assert all(length <= chunks.CHUNK_ROWS for _, length in bounds)
    if threads > 1 and height >= chunks.PARALLEL_MIN_ROWS:
        assert len(bounds) % threads == 0
    else:
        assert len(bounds) == max(1, -(-height // chunks.CHUNK_ROWS))


def test_chunks_worked_in_threads_come_back_in_order_with_progress(monkeypatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 10)
    monkeypatch.setattr(chunks, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(chunks, "thread_count", lambda: 2)
    frame = pl.DataFrame({"row": range(95)})
    workers, told = set(), []
    barrier = threading.Barrier(2, timeout=10)

    def work(chunk: pl.DataFrame) -> pl.DataFrame:
        workers.add(threading.current_thread().name)
        if chunk["row"][0] < 20:  # the first two chunks only end once both are being worked at once
            barrier.wait()
        return chunk.with_columns(twice=pl.col("row") * 2)

    results = chunks.map_chunks(frame, work, told.append)
    assert_frame_equal(pl.concat(results), frame.with_columns(twice=pl.col("row") * 2))
    assert len(workers) == 2
    assert told == sorted(told) and told[-1] == 95 and len(told) == len(results)


def test_a_process_held_to_one_core_works_its_chunks_in_turn() -> None:
    with on_one_core():
        assert chunks.thread_count() == 1
    assert chunks.thread_count() == max(1, min(len(usable_cores()) or 1, pl.thread_pool_size()))


def test_a_chunk_that_fails_drops_the_chunks_not_yet_started(monkeypatch) -> None:
    """An error (or Ctrl-C) in one chunk is raised once the chunks being worked end, without working the rest."""
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 10)
    monkeypatch.setattr(chunks, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(chunks, "thread_count", lambda: 2)
    started = []

    def work(chunk: pl.DataFrame) -> pl.DataFrame:
        started.append(chunk["row"][0])
        if chunk["row"][0] == 0:
            raise ValueError("this chunk cannot be worked")
        time.sleep(0.3)
        return chunk

    with pytest.raises(ValueError, match="cannot be worked"):
        chunks.map_chunks(pl.DataFrame({"row": range(100)}), work)
    assert 0 in started and len(started) <= 4


@pytest.mark.parametrize(("height", "threads"), [(1, 2), (3_999, 2), (4_000, 2), (100_000, 2), (100_000, 1), (60_001, 3)])
def test_work_costly_per_call_gets_one_chunk_per_thread(monkeypatch, height: int, threads: int) -> None:
    monkeypatch.setattr(chunks, "thread_count", lambda: threads)
    sizes: list[int] = []
    lock = threading.Lock()

    def work(chunk: pl.DataFrame) -> pl.DataFrame:
        with lock:
            sizes.append(chunk.height)
        return chunk

    result = pl.concat(chunks.map_chunks(pl.DataFrame({"row": range(height)}), work, one_per_thread=True))
    assert result["row"].to_list() == list(range(height))
    assert len(sizes) == (threads if height >= chunks.PARALLEL_MIN_ROWS else 1)
