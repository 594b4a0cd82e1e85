"""Every file in the bad-input corpus is read with every supplier kept, or refused with one clear line."""

import os
import subprocess
import sys

import pytest

from screener.columns import detect_columns
from screener.isolated import read_isolated
from screener.rules import RulesError, load_rules
from screener.supplier_io import MAX_FILE_BYTES, InputFileError, SupplierTable, read_supplier_table
from screener.text import visible
from tests.bad_inputs import CORPUS, ROWS, RULES_CORPUS, BadInput, BadRules, delimited

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
    assert all(repair.startswith(expected) for repair, expected in zip(table.repairs, item.repairs, strict=True))


@pytest.mark.parametrize("item", REFUSED, ids=lambda item: item.filename)
def test_unreadable_files_are_refused_with_one_line(tmp_path, item):
    with pytest.raises(InputFileError) as refused:
        detect_columns(read(tmp_path, item).frame)
    message = str(refused.value)
    assert item.error in message
    assert "\n" not in message


def special_file(tmp_path, kind: str):
    """A path that is not a regular file: reading it whole would block, never end or fail obscurely."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.csv")
        return tmp_path / "pipe.csv"
    if kind == "over_size":
        path = tmp_path / "huge.csv"
        with path.open("wb") as sparse:
            sparse.truncate(MAX_FILE_BYTES + 1)
        return path
    return {"device": "/dev/zero", "directory": str(tmp_path)}[kind]


SPECIAL = {"fifo": "named pipe", "device": "character device", "directory": "a directory", "over_size": "200 MB"}


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_files_are_refused_at_once_by_every_reader(tmp_path, kind):
    path = special_file(tmp_path, kind)
    with pytest.raises(InputFileError, match=SPECIAL[kind]):
        read_supplier_table(path)
    if kind != "over_size":
        with pytest.raises(RulesError, match=SPECIAL[kind]):
            load_rules([path])


@pytest.mark.parametrize("item", RULES_CORPUS, ids=lambda item: item.filename)
def test_hostile_rules_files_are_refused_with_one_line(tmp_path, item: BadRules):
    path = tmp_path / item.filename
    path.write_bytes(item.make())
    with pytest.raises(RulesError) as refused:
        load_rules([path])
    assert item.error in str(refused.value) and "\n" not in str(refused.value)


def test_headers_differing_in_case_or_holding_controls_come_out_distinct_and_printable(tmp_path):
    content = delimited(ROWS, header=["Supplier Name", "Country", "country"]).replace(b"Supplier", b"Supp\x1blier")
    columns = read_supplier_table(content, filename="headers.csv").frame.columns
    assert columns == ["source_row", "Supp\\x1blier Name", "Country", "country_3"]


MARKUP_AND_ESCAPES = ["[/]", "[bold]Bold Co[/bold]", "Clip\x1b]52;c;aGVsbG8=\x07 Co", "Wipe\x1b[2J Co", ":warning: Co"]


def screener_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screener", *args], capture_output=True, text=True, timeout=300)


def test_cli_prints_markup_and_escapes_in_names_headers_and_paths_as_text(lists_db, tmp_path):
    folder = tmp_path / "[red]out[bold]"
    folder.mkdir()
    suppliers = folder / "suppliers.csv"
    suppliers.write_bytes(delimited([[name, "CN", "x"] for name in MARKUP_AND_ESCAPES],
                                    header=["[/] Supplier Name", "Country", "Addr\x1b[2Jess"]))
    runs = [screener_command("check", name, "--db", str(lists_db)) for name in MARKUP_AND_ESCAPES[:3]]
    runs.append(screener_command("screen", str(suppliers), "--name-col", "[/] Supplier Name", "--db", str(lists_db)))
    runs.append(screener_command("screen", str(folder / "[bold]missing.csv"), "--db", str(lists_db)))
    for done in runs:
        assert "Traceback" not in done.stderr and "\x1b" not in done.stdout + done.stderr
    assert [done.returncode for done in runs] == [0, 0, 0, 0, 2]
    shown = [done.stdout for done in runs[:3]]
    assert all(visible(name) in out for name, out in zip(MARKUP_AND_ESCAPES[:3], shown, strict=True))
    assert "[red]out[bold]/[bold]missing.csv: no such file" in runs[-1].stderr
