"""Uploads are read in a child process: whatever a file does to the reader, the caller gets one line and lives."""

import pytest

from screener.isolated import Limits, read_isolated, sheets_isolated
from screener.supplier_io import InputFileError
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
