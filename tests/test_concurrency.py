"""Screening while another process ingests: one complete snapshot per source, a wait, or a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

import screener.store
from screener.ingest import ingest_source
from screener.screening import Screener, load_lists
from screener.store import Lists, Store, StoreError
from sources import uflpa
from tests.conftest import REPO
from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok

UFLPA_PAGE = fixture("uflpa_entity_list.html")

WRITER = """
import sys
from screener.ingest import ingest_source
from screener.store import Store
from sources import uflpa
from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok
from tests.pausing import PausingConnection

store = Store(sys.argv[1])
store.con = PausingConnection(store.con, sys.stdin.readline)
web = FakeWeb({uflpa.URL: ok(fixture("uflpa_entity_list.html"))})
result = ingest_source(store, uflpa.SOURCE, web.client(), force=True)
store.close()
print("stored", result.snapshot_id, flush=True)
"""


def expected_new_uflpa(tmp_path: Path) -> list[str]:
    """The entity names the writer's ingest stores (the same ingest run alone on an empty database)."""
    with Store(tmp_path / "alone.duckdb") as store:
        ingest_source(store, uflpa.SOURCE, FakeWeb({uflpa.URL: ok(UFLPA_PAGE)}).client())
        return sorted(store.read_current().entities["name"].to_list())


def snapshot_view(lists: Lists) -> dict[str, tuple[int, list[str]]]:
    """Per source: the one snapshot read and the sorted entity names read with it."""
    return {
        source: (snapshot_id, sorted(lists.entities.filter(pl.col("snapshot_id") == snapshot_id)["name"].to_list()))
        for source, snapshot_id in lists.snapshots.select("source", "snapshot_id").iter_rows()
    }


def assert_consistent(lists: Lists) -> None:
    """Exactly one snapshot per source; every entity and name read belongs to one of those snapshots."""
    assert lists.snapshots["source"].is_unique().all()
    ids = set(lists.snapshots["snapshot_id"].to_list())
    assert set(lists.entities["snapshot_id"].unique().to_list()) == ids
    assert set(lists.names["snapshot_id"].unique().to_list()) <= ids
    counts = dict(lists.entities.group_by("snapshot_id").len().iter_rows())
    assert all(counts[row["snapshot_id"]] == row["row_count"] for row in lists.snapshots.iter_rows(named=True))
    name_counts = dict(lists.names.group_by("snapshot_id").len().iter_rows())
    assert all(name_counts[row["snapshot_id"]] == row["name_count"] for row in lists.snapshots.iter_rows(named=True))
    assert lists.names["entity_id"].is_in(lists.entities["entity_id"].implode()).all()


@pytest.fixture
def paused_writer(lists_db) -> Iterator[subprocess.Popen]:
    """A process ingesting the UFLPA list into `lists_db`, stopped inside the snapshot's transaction."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(lists_db)], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert writer.stdout.readline().strip() == "mid-transaction"
    yield writer
    if writer.poll() is None:
        writer.kill()
    writer.wait()


@pytest.fixture
def lock_waits(monkeypatch) -> threading.Event:
    """Set as soon as a Store in this process finds the database locked and starts waiting."""
    waiting = threading.Event()

    def sleep_noting_the_wait(seconds: float) -> None:
        waiting.set()
        time.sleep(seconds)

    monkeypatch.setattr(screener.store, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep_noting_the_wait))
    return waiting


def in_background(function: Callable[[], object]) -> Future:
    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(function)
    executor.shutdown(wait=False)
    return future


def release(writer: subprocess.Popen) -> str:
    writer.stdin.write("go\n")
    writer.stdin.flush()
    return writer.stdout.readline().strip()


@pytest.fixture
def before(embedded_db) -> dict[str, tuple[int, list[str]]]:
    """What `lists_db` (a copy of `embedded_db`) holds before the writer starts."""
    with Store(embedded_db, read_only=True) as store:
        return snapshot_view(store.read_current())


def test_a_screening_waits_for_the_ingest_and_sees_the_new_snapshot_whole(
    before, paused_writer, lists_db, tmp_path, monkeypatch, lock_waits
):
    new_uflpa = expected_new_uflpa(tmp_path)
    assert before["uflpa"][1] != new_uflpa
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "120")
    screening = in_background(lambda: Screener.from_db(lists_db))
    assert lock_waits.wait(60), "the screening never found the database busy"
    assert not screening.done()
    stored = release(paused_writer)
    lists = screening.result(timeout=120).lists
    assert_consistent(lists)
    after = snapshot_view(lists)
    assert stored == f"stored {after['uflpa'][0]}"
    assert after["uflpa"][1] == new_uflpa
    assert {source: view for source, view in after.items() if source != "uflpa"} == {
        source: view for source, view in before.items() if source != "uflpa"}


def test_a_screening_waiting_on_an_ingest_that_dies_sees_the_previous_snapshot_whole(
    before, paused_writer, lists_db, monkeypatch, lock_waits
):
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "120")
    screening = in_background(lambda: load_lists(lists_db))
    assert lock_waits.wait(60), "the screening never found the database busy"
    paused_writer.kill()
    lists = screening.result(timeout=120)
    assert_consistent(lists)
    assert snapshot_view(lists) == before


def test_with_a_short_lock_timeout_a_screening_fails_with_the_clear_message(paused_writer, lists_db, monkeypatch):
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "0.3")
    with pytest.raises(StoreError, match="is in use by another screener process .*SCREENER_LOCK_TIMEOUT") as raised:
        Screener.from_db(lists_db)
    assert "\n" not in str(raised.value)
    assert release(paused_writer).startswith("stored ")
    assert_consistent(load_lists(lists_db))


def test_the_cli_says_the_database_is_busy_in_one_line_and_exits_2(paused_writer, lists_db):
    env = {**os.environ, "SCREENER_LOCK_TIMEOUT": "0.3", "PYTHONPATH": str(REPO)}
    checked = subprocess.run([sys.executable, "-m", "screener", "check", "Ninestar Corporation", "--db", str(lists_db)],
                             check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 2
    lines = [line for line in checked.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the database ") and "in use by another screener" in lines[0]


def test_an_ingest_started_during_a_screening_fails_cleanly_leaving_the_lists(before, lists_db):
    env = {**os.environ, "SCREENER_LOCK_TIMEOUT": "0.3", "PYTHONPATH": str(REPO)}
    page = str(REPO / "tests/fixtures/sources/uflpa_entity_list.html")
    with Store(lists_db):
        ingest = subprocess.run(
            [sys.executable, "-m", "screener", "ingest", "uflpa", "--from-file", page, "--db", str(lists_db)],
            check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert ingest.returncode == 2
    lines = [line for line in ingest.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "in use by another screener process" in lines[0]
    lists = load_lists(lists_db)
    assert_consistent(lists)
    assert snapshot_view(lists) == before
