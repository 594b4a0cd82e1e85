"""A file's next batch read, and the last batch's report written, while a batch is screened (screener.overlap)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.overlap import WrittenBehind, read_ahead, written_behind
from screener.reports.csv_report import CsvReport
from screener.screening import screen_to_report
from tests.test_streaming import generated_suppliers

WAIT_S = 10


def test_the_next_item_is_read_while_the_caller_works_on_this_one() -> None:
    reading_second = threading.Event()
    readers = []

    def items() -> Iterator[int]:
        readers.append(threading.current_thread())
        yield 1
        reading_second.set()
        yield 2
        yield 3

    ahead = read_ahead(items())
    assert next(ahead) == 1
    assert reading_second.wait(WAIT_S), "the second item was not read while the first was worked on"
    assert list(ahead) == [2, 3]
    assert readers and readers[0] is not threading.current_thread()


def test_an_error_reading_is_raised_where_its_item_would_have_come() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("the disk went away")

    got = []
    with pytest.raises(OSError, match="the disk went away"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


class Recording:
    """A report writer that holds each batch until it is let go, and records what it wrote, in which thread."""

    def __init__(self, failing: object = None) -> None:
        self.written: list[object] = []
        self.threads: set[threading.Thread] = set()
        self.finished = False
        self.let_go = threading.Event()
        self.failing = failing

    def write(self, part: object) -> None:
        assert self.let_go.wait(WAIT_S)
        if part == self.failing:
            raise OSError("no space left on device")
        self.written.append(part)
        self.threads.add(threading.current_thread())

    def finish(self, summary: object) -> None:
        self.finished = True

    def abort(self) -> None:
        self.written.clear()


def test_a_batch_is_written_while_the_next_is_screened_in_order() -> None:
    recording = Recording()
    behind = WrittenBehind(recording)
    behind.write("first")  # type: ignore[arg-type]  # returns while the batch waits to be written
    assert recording.written == []
    recording.let_go.set()
    behind.write("second")  # type: ignore[arg-type]
    behind.finish(None)  # type: ignore[arg-type]
    behind.close()
    assert recording.written == ["first", "second"] and recording.finished
    assert threading.current_thread() not in recording.threads


def test_a_batch_that_fails_to_be_written_fails_the_next_write_and_the_finish() -> None:
    recording = Recording(failing="first")
    recording.let_go.set()
    with written_behind(recording) as behind:
        behind.write("first")  # type: ignore[arg-type]
        with pytest.raises(OSError, match="no space left"):
            behind.write("second")  # type: ignore[arg-type]
    assert recording.written == [] and not recording.finished


def test_a_report_whose_batch_cannot_be_written_is_not_left_behind(embedded_db, tmp_path, monkeypatch) -> None:
    source = generated_suppliers(tmp_path / "suppliers.csv", 300)
    out = tmp_path / "out" / "report.csv"
    written: list[object] = []
    write = CsvReport.write

    def write_twice_then_fail(self: CsvReport, part: object) -> None:
        if len(written) == 2:
            raise OSError("no space left on device")
        written.append(part)
        write(self, part)  # type: ignore[arg-type]

    monkeypatch.setattr(CsvReport, "write", write_twice_then_fail)
    with pytest.raises(OSError, match="no space left on device"):
        screen_to_report(source, out, embedded_db, batch_rows=64)
    assert len(written) == 2
    assert sorted(path.name for path in Path(out.parent).iterdir()) == []


def test_a_caller_that_stops_early_closes_what_it_reads() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    ahead = read_ahead(items())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()


def test_a_report_aborted_behind_the_screening_waits_for_its_batch_then_drops_it() -> None:
    recording = Recording()
    behind = WrittenBehind(recording)
    behind.write("first")  # type: ignore[arg-type]
    recording.let_go.set()
    behind.abort()
    assert recording.threads and recording.written == []  # written, then dropped by the writer's own abort
