"""Working through a large frame in chunks, on every core the process may use.

Matching a chunk of names is mostly polars and rapidfuzz, which release the GIL, but most of a chunk's steps run on one
thread. Chunks worked in threads of their own, one per usable core, keep every core busy: on 2 idle cores, matching
87,000 generated supplier names took 1.4-1.6x less time. Results come back in the order of the chunks, as a loop over
them gives, and are the same whatever the chunks (tests/test_one_path.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from screener.cpu import usable_cores

CHUNK_ROWS = 25_000
"""Most rows worked in one call: the cost per call is shared by more rows (matching 100k generated suppliers took
about a fifth less CPU in chunks of 25,000 than of 5,000; see benchmarks/throughput.py)."""
PARALLEL_MIN_ROWS = 4_000
"""Fewest rows worked in more than one thread. Matching on 2 idle cores, two threads against one: 1.07-1.11x faster at
500-2,000 generated names, 1.14x at 4,000, 1.22x at 8,000; below this, each chunk's fixed cost is paid twice for
little gain, which a loaded machine would not repay."""


def thread_count() -> int:
    """Threads to work chunks in: one per core this thread may run on (one when the process is held to one core, as
    `screener check` and each service worker are), at most polars' own thread count ($POLARS_MAX_THREADS)."""
    return max(1, min(len(usable_cores()) or 1, pl.thread_pool_size()))


def chunk_bounds(height: int, threads: int, most_rows: int | None = None) -> list[tuple[int, int]]:
    """(offset, length) of each chunk: at most `most_rows` rows (CHUNK_ROWS), as even as can be, and a multiple of
    `threads` chunks when the frame is large enough to share, so that no thread waits on another's last chunk."""
    count = max(1, math.ceil(height / (most_rows or CHUNK_ROWS)))
    if threads > 1 and height >= PARALLEL_MIN_ROWS:
        count = math.ceil(max(count, threads) / threads) * threads
    size = max(1, math.ceil(height / count))
    return [(offset, size) for offset in range(0, max(height, 1), size)]


def map_chunks(
    frame: pl.DataFrame,
    work: Callable[[pl.DataFrame], pl.DataFrame],
    done: Callable[[int], None] | None = None,
    *,
    one_per_thread: bool = False,
) -> list[pl.DataFrame]:
    """`work` of each chunk of the frame, in the chunks' order, worked in threads of their own (`thread_count`);
    `done(rows)` is told how many rows are worked as each chunk's result comes back in turn. `one_per_thread`: one
    chunk per thread, however large (work that costs much per call and little per row), one on a single thread."""
    threads = thread_count()
    most_rows = max(math.ceil(frame.height / threads), PARALLEL_MIN_ROWS) if one_per_thread else None
    chunks = [frame.slice(offset, length) for offset, length in chunk_bounds(frame.height, threads, most_rows)]
    if threads == 1 or len(chunks) == 1:
        return _in_turn(map(work, chunks), chunks, done)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="screener-chunk") as pool:
        return _in_turn(pool.map(work, chunks), chunks, done)


def _in_turn(
    results: Iterator[pl.DataFrame], chunks: list[pl.DataFrame], done: Callable[[int], None] | None
) -> list[pl.DataFrame]:
    """The results as they come back in the chunks' order, `done` told of the rows worked after each."""
    kept, worked = [], 0
    for chunk, result in zip(chunks, results, strict=True):
        kept.append(result)
        worked += chunk.height
        if done:
            done(worked)
    return kept
