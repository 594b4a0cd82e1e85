"""The database and report files under hostile conditions: newer, damaged, read-only, failing mid-write, special
files as targets, partial files of killed writers (issue 14, class 7)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import openpyxl
import pytest

from screener import casework
from screener.reports import ReportError, write_report
from screener.screening import load_lists, screen_file
from screener.store import SCHEMA_VERSION, Store, StoreError, transaction
from tests.test_reports import SUPPLIERS, make_result
from tests.test_workflow import NINESTAR, rescreen, save, suppliers


def test_a_database_from_a_newer_screener_is_refused_untouched(lists_db):
    with Store(lists_db) as store:
        store.con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 7])
        store.con.execute("UPDATE meta SET value = 'from-the-future' WHERE key = 'normalizer_version'")
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 7}; this one reads up to version"):
        Store(lists_db)
    with duckdb.connect(str(lists_db), read_only=True) as con:
        norms = con.execute("SELECT value FROM meta WHERE key = 'normalizer_version'").fetchall()
    assert norms == [("from-the-future",)]


@pytest.mark.parametrize("content", [b"DUCK" * 4096, b"secret first line\nsecond line\n"], ids=["damaged", "text"])
def test_a_damaged_database_is_called_damaged_at_once_and_its_content_never_echoed(tmp_path, monkeypatch, content):
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "600")  # were it taken for a lock, the test would hang, not pass
    path = tmp_path / "lists.duckdb"
    path.write_bytes(content)
    with pytest.raises(StoreError) as refused:
        Store(path)
    message = str(refused.value)
    assert "damaged or is not a screener database" in message
    assert "in use" not in message and "secret" not in message


def test_a_failed_rollback_does_not_hide_why_the_write_failed(tmp_path):
    con = duckdb.connect(str(tmp_path / "lists.duckdb"))
    with pytest.raises(duckdb.IOException, match="No space left on device"), transaction(con):
        con.close()  # the rollback that follows fails too, as it does on a full disk
        raise duckdb.IOException("No space left on device")


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """The file made unwritable even for root (chattr +i), for the block."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_database_can_be_screened_against(lists_db):
    with immutable(lists_db):
        with pytest.raises(StoreError):
            Store(lists_db)
        lists = load_lists(lists_db)
    assert lists.entities.height > 0 and lists.names.height > 0


def test_a_report_is_never_written_over_a_device_or_pipe(tmp_path):
    pipe = tmp_path / "report.csv"
    os.mkfifo(pipe)
    for target in (Path("/dev/null"), pipe):
        with pytest.raises(ReportError, match="not a regular file"):
            write_report(make_result(), target, "csv")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_partial_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "report.xlsx"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".report.xlsx.{dead.pid}-0123456789ab.part"
    in_progress = tmp_path / f".report.xlsx.{os.getpid()}-ba9876543210.part"
    for part in (stale, in_progress):
        part.write_bytes(b"partial")
    write_report(make_result(), target)
    assert target.is_file() and not stale.exists() and in_progress.exists()


def test_audit_log_comments_are_exported_as_text_never_as_links(lists_db, tmp_path):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    rescreen(lists_db, "main")
    comments = ["external:C:\\Windows\\System32\\calc.exe", "https://evil.example/x", "file:///etc/passwd"]
    with Store(lists_db) as store:
        for comment in comments:
            casework.decide(store, "main", "Ninestar Corporation", NINESTAR, "escalated", comment, "mallory")
        casework.export_audit_log(store, tmp_path / "audit.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "audit.xlsx").active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.hyperlink for cell in cells if cell.hyperlink]
    assert set(comments) <= {cell.value for cell in cells}


def test_text_over_an_excel_cell_is_cut_saying_so_and_kept_whole_in_csv_and_json(tmp_path):
    long_name = "Kashgar Cotton " * 3_000  # 45,000 characters
    suppliers = {column: list(values) for column, values in SUPPLIERS.items()}
    suppliers["Supplier Name"][4] = long_name
    result = make_result(suppliers)
    write_report(result, tmp_path / "report.xlsx")
    write_report(result, tmp_path / "report.json")
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    cells = [cell.value for row in book["Results"].iter_rows() for cell in row if isinstance(cell.value, str)]
    cut = [value for value in cells if value.startswith("Kashgar Cotton")]
    assert len(cut) == 1 and len(cut[0]) <= 32_767 and cut[0].endswith("the CSV and JSON reports keep the full text]")
    facts = {row[0]: row[1] for row in book["Sources"].iter_rows(values_only=True) if row[0]}
    assert facts["cells cut to Excel's 32,767-character limit"].startswith("1 ")
    assert long_name in (tmp_path / "report.json").read_text(encoding="utf-8")


def test_input_headers_differing_from_report_columns_only_in_case_keep_the_header_row(lists_db, tmp_path):
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text("Supplier Name,RISK_TIER,Match_URL,Reasons\nAcme Textiles GmbH,low,http://x,mine\n")
    write_report(screen_file(suppliers, lists_db), tmp_path / "report.xlsx")
    header = [cell.value for cell in next(openpyxl.load_workbook(tmp_path / "report.xlsx")["Results"].iter_rows())]
    assert None not in header and len({name.casefold() for name in header}) == len(header)
    assert {"RISK_TIER_input", "Match_URL_input", "Reasons_input", "risk_tier", "reasons"} <= set(header)
