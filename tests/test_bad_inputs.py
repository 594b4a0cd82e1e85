"""Every file in the bad-input corpus is read with every supplier kept, or refused with one clear line."""

import pytest

from screener.columns import detect_columns
from screener.isolated import read_isolated
from screener.supplier_io import InputFileError, SupplierTable, read_supplier_table
from tests.bad_inputs import CORPUS, BadInput

READABLE = [item for item in CORPUS if item.names is not None]
REFUSED = [item for item in CORPUS if item.error is not None]


def cleaned(values: list[str | None]) -> list[str | None]:
    return [(value or "").strip() or None for value in values]


def read(tmp_path, item: BadInput) -> SupplierTable:
    """The file read as the CLI reads it, or in a child process for files that once aborted the reader."""
    if item.isolate:
        return read_isolated(item.make(), filename=item.filename)
    path = tmp_path / item.filename
    path.write_bytes(item.make())
    return read_supplier_table(path)


@pytest.mark.parametrize("item", READABLE, ids=lambda item: item.filename)
def test_readable_files_keep_every_supplier_in_order(tmp_path, item):
    table = read(tmp_path, item)
    mapping = detect_columns(table.frame)
    assert cleaned(table.frame[mapping.name].to_list()) == cleaned(item.names)
    assert [repair.split(":")[0] for repair in table.repairs] == [repair.split(":")[0] for repair in item.repairs]
    assert all(repair.startswith(expected) for repair, expected in zip(table.repairs, item.repairs))


@pytest.mark.parametrize("item", REFUSED, ids=lambda item: item.filename)
def test_unreadable_files_are_refused_with_one_line(tmp_path, item):
    with pytest.raises(InputFileError) as refused:
        detect_columns(read(tmp_path, item).frame)
    message = str(refused.value)
    assert item.error in message
    assert "\n" not in message
