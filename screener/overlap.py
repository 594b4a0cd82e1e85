"""Reading a file's next batch, and writing the last batch's report, while a batch is screened.

Screening a batch keeps the cores busy only part of the time (polars' steps wait on one another, Python's on the GIL);
a batch read and a report written in turn between two screenings add their time to the run. Done in a thread of their
own, alongside the screening, they fill the time the cores would be idle. One batch is read ahead and one written
behind at most, so memory still follows the batch.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from screener.result import RunSummary, ScreenResult

if TYPE_CHECKING:
    from screener.reports import ReportWriter

T = TypeVar("T")
_END = object()


def read_ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """The items in order, each next one produced in a thread of its own while the caller works on this one; an
    error producing one is raised where the caller asks for it. A caller that stops early closes the items (a reader
    in a child process ends it) once the item being read is done."""
    iterator = iter(items)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screener-read") as pool:
            pending = pool.submit(next, iterator, _END)
            while (item := pending.result()) is not _END:
                pending = pool.submit(next, iterator, _END)
                yield item  # type: ignore[misc]  # not _END: an item
    finally:
        if isinstance(iterator, Generator):
            iterator.close()


class WrittenBehind:
    """A report writer whose batches are written, in order, in a thread of its own while the next batch is screened;
    each `write` first waits for the one before it (raising its error), so one batch at most waits to be written."""

    def __init__(self, writer: ReportWriter):
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screener-write")
        self._last: Future[None] | None = None

    def write(self, part: ScreenResult) -> None:
        self._written()
        self._last = self._pool.submit(self._writer.write, part)

    def finish(self, summary: RunSummary) -> None:
        self._written()
        self._writer.finish(summary)

    def abort(self) -> None:
        self.close()
        self._writer.abort()

    def close(self) -> None:
        """Wait for the batch being written, if any (its error is left to `write` and `finish` to raise)."""
        self._pool.shutdown(wait=True)

    def _written(self) -> None:
        """Wait for the last batch handed over to be written."""
        last, self._last = self._last, None
        if last is not None:
            last.result()


@contextmanager
def written_behind(writer: ReportWriter) -> Iterator[ReportWriter]:
    """The writer with its batches written behind the screening (`WrittenBehind`); no batch is still being written
    once the block ends, however it ends (the report is then committed or discarded)."""
    behind = WrittenBehind(writer)
    try:
        yield behind
    finally:
        behind.close()
