"""Every file in the bad-input corpus is read with every supplier kept, or refused with one clear line."""

import pytest

from screener.columns import detect_columns
from screener.isolated import read_isolated
from screener.supplier_io import InputFileError, read_suppliers
from tests.bad_inputs import CORPUS, BadInput

READABLE = [item for item in CORPUS if item.names is not None]
REFUSED = [item for item in CORPUS if item.error is not None]


def cleaned(values: list[str | None]) -> list[str | None]:
    return [(value or "").strip() or None for value in values]


def read(tmp_path, item: BadInput):
    """The file read as the CLI reads it, or in a child process for files that once aborted the reader."""
    if item.isolate:
        return read_isolated(item.make(), filename=item.filename)
    path = tmp_path / item.filename
    path.write_bytes(item.make())
    return read_suppliers(path)


@pytest.mark.parametrize("item", READABLE, ids=lambda item: item.filename)
def test_readable_files_keep_every_supplier_in_order(tmp_path, item):
    frame = read(tmp_path, item)
    mapping = detect_columns(frame)
    assert cleaned(frame[mapping.name].to_list()) == cleaned(item.names)


@pytest.mark.parametrize("item", REFUSED, ids=lambda item: item.filename)
def test_unreadable_files_are_refused_with_one_line(tmp_path, item):
    with pytest.raises(InputFileError) as refused:
        frame = read(tmp_path, item)
        detect_columns(frame)
    message = str(refused.value)
    assert item.error in message
    assert "\n" not in message
