"""Uploads are read in a child process, whole or batch by batch: whatever a file does to the reader, the caller gets
one line and lives."""

import pytest

from screener.isolated import Limits, read_batches_isolated, read_isolated, sheets_isolated
from screener.supplier_io import InputFileError, read_supplier_batches
from tests.bad_inputs import HEADER, NAMES, ROWS, delimited, workbook


def test_a_readable_file_comes_back_whole():
    frame = read_isolated(delimited(ROWS), filename="suppliers.csv").frame
    assert frame.columns == ["source_row", *HEADER]
    assert frame["Supplier Name"].to_list() == NAMES


def test_repairs_come_back():
    table = read_isolated(delimited(ROWS).replace(b"Camel", b"Ca\x00mel"), filename="nul.csv")
    assert table.repairs == ("line 3: NUL character(s) removed",)


def test_sheet_names_come_back():
    content = workbook({"Notes": [["x"]], "Suppliers": [HEADER, *ROWS]})
    assert sheets_isolated(content, filename="book.xlsx") == ["Notes", "Suppliers"]


def test_a_refusal_keeps_its_message():
    with pytest.raises(InputFileError, match="is empty"):
        read_isolated(b"", filename="empty.csv")


def test_a_reader_killed_by_its_memory_limit_is_one_line_and_the_caller_lives():
    with pytest.raises(InputFileError) as stopped:
        read_isolated(delimited(ROWS), filename="tiny.csv", limits=Limits(memory_bytes=64 * 1024**2))
    assert "memory" in str(stopped.value) and "\n" not in str(stopped.value)


def test_a_reader_over_its_time_limit_is_stopped():
    with pytest.raises(InputFileError, match="took more than"):
        read_isolated(delimited(ROWS), filename="slow.csv", limits=Limits(seconds=0.01))


def test_batches_come_back_in_order_with_the_repairs_of_the_whole_file(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(delimited(ROWS * 7).replace(b"Camel", b"Ca\x00mel"))
    isolated, local = read_batches_isolated(path, batch_rows=4), read_supplier_batches(path, batch_rows=4)
    assert isolated.rows == local.rows and isolated.header.schema == local.header.schema
    batches = list(isolated.batches)
    assert len(batches) > 1 and all(ours.equals(theirs) for ours, theirs in zip(batches, local.batches, strict=True))
    assert isolated.repairs == local.repairs and isolated.repairs


def test_a_batch_reader_refusing_or_killed_is_one_line_and_the_caller_lives(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty.csv is empty"):
        read_batches_isolated(empty)
    tiny = tmp_path / "tiny.csv"
    tiny.write_bytes(delimited(ROWS))
    with pytest.raises(InputFileError) as stopped:
        read_batches_isolated(tiny, limits=Limits(memory_bytes=64 * 1024**2))
    assert "memory" in str(stopped.value) and "\n" not in str(stopped.value)
