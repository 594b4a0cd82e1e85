"""The DuckDB store: creation, migration, snapshots and history."""

import datetime as dt

import duckdb
import polars as pl
import pytest

from screener.schema import SchemaError, entity_id
from screener.store import LIST_TABLES, SCHEMA_VERSION, SnapshotMeta, Store, StoreError, read_lists_kept


def frames(*names: str, source: str = "uflpa") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Entity and name frames with one entity per name and an alias each."""
    ids = [entity_id(source, name) for name in names]
    entities = pl.DataFrame(
        {
            "entity_id": ids,
            "source": source,
            "list_name": "UFLPA Entity List",
            "list_kind": "legal",
            "authority": "US-DHS",
            "program": "UFLPA 2(d)(2)(B)(ii)",
            "entity_type": "organization",
            "name": list(names),
            "country": "CN",
            "addresses": "",
            "sector": "",
            "merchandise": "",
            "status": "active",
            "start_date": dt.date(2023, 6, 12),
            "end_date": None,
            "citation": "Federal Register doc. 2023-12481",
            "remarks": "",
            "source_url": "https://www.dhs.gov/uflpa-entity-list",
            "includes_affiliates": False,
        }
    )
    names_frame = pl.DataFrame(
        {
            "entity_id": ids + ids,
            "name": list(names) + [f"{name} Alias" for name in names],
            "kind": ["primary"] * len(names) + ["alias"] * len(names),
            "lang": "en",
        }
    )
    return entities, names_frame


def meta(as_of: dt.date, source: str = "uflpa") -> SnapshotMeta:
    return SnapshotMeta(source=source, title="UFLPA Entity List", as_of=as_of,
                        url="https://www.dhs.gov/uflpa-entity-list", sha256="0" * 64, origin="ingest")


def test_new_database_is_created_and_migrated(tmp_path):
    path = tmp_path / "nested" / "lists.duckdb"
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.snapshots().is_empty()
    assert path.is_file()


def test_reopening_does_not_migrate_twice(tmp_path):
    path = tmp_path / "lists.duckdb"
    Store(path).close()
    with Store(path) as store:
        applied = store.con.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert applied == SCHEMA_VERSION


def test_snapshot_round_trip_keeps_every_name_variant(tmp_path):
    entities, names = frames("Xinjiang Zhongtai Chemical Co., Ltd.", "Camel Group Co., Ltd.")
    with Store(tmp_path / "db.duckdb") as store:
        snapshot_id = store.add_snapshot(meta(dt.date(2023, 8, 2)), entities, names)
        lists = store.read_current()
    assert lists.snapshots["snapshot_id"].to_list() == [snapshot_id]
    assert lists.entities.height == 2
    assert sorted(lists.names["kind"].to_list()) == ["alias", "alias", "primary", "primary"]
    zhongtai = lists.names.filter(pl.col("name") == "Xinjiang Zhongtai Chemical Co., Ltd.")
    assert zhongtai["norm"][0] == "xinjiang zhongtai chemical"


def test_new_snapshot_supersedes_and_history_stays_queryable(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        first = store.add_snapshot(meta(dt.date(2023, 6, 12)), *frames("Alpha Co."))
        second = store.add_snapshot(meta(dt.date(2024, 5, 17)), *frames("Alpha Co.", "Beta Co."))
        assert store.current_snapshots()["snapshot_id"].to_list() == [second]
        assert store.read_lists([first]).entities["name"].to_list() == ["Alpha Co."]
        assert store.read_as_of(dt.date(2023, 12, 31)).entities["name"].to_list() == ["Alpha Co.", "Beta Co."]


def dated(name: str, start: dt.date, end: dt.date | None = None, status: str = "active", source: str = "cbp_wro"):
    entities, names = frames(name, source=source)
    return entities.with_columns(start_date=pl.lit(start), end_date=pl.lit(end, pl.Date), status=pl.lit(status)), names


def test_as_of_reads_the_listings_in_force_on_that_date_from_every_source(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        store.add_snapshot(meta(dt.date(2026, 1, 29), "cbp_wro"), *[pl.concat(parts) for parts in zip(
            dated("Old Order Co.", dt.date(2019, 1, 1)),
            dated("Lifted Glove Co.", dt.date(2020, 7, 15), dt.date(2021, 9, 9), "modified"),
            dated("New Order Co.", dt.date(2025, 12, 18)),
            dated("Undated Order Co.", None),
            strict=True,
        )])
        store.add_snapshot(meta(dt.date(2025, 1, 15)), *frames("Alpha Co."))
        on_2021 = store.read_as_of(dt.date(2021, 6, 30))
        assert sorted(on_2021.snapshots["source"]) == ["cbp_wro", "uflpa"]
        assert sorted(on_2021.entities["name"]) == ["Lifted Glove Co.", "Old Order Co.", "Undated Order Co."]
        lifted = on_2021.entities.filter(pl.col("name") == "Lifted Glove Co.").row(0, named=True)
        assert (lifted["status"], lifted["end_date"]) == ("active", None)
        assert lifted["remarks"].startswith("In force on 2021-06-30; modified on 2021-09-09.")
        assert set(on_2021.names["entity_id"]) == set(on_2021.entities["entity_id"])
        on_2025 = store.read_as_of(dt.date(2025, 6, 30))
        assert sorted(on_2025.entities["name"]) == ["Alpha Co.", "Old Order Co.", "Undated Order Co."]


def test_as_of_keeps_a_listing_removed_since_from_the_snapshot_that_still_held_it(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        store.add_snapshot(meta(dt.date(2024, 5, 17)), *frames("Alpha Co.", "Gone Co."))
        store.add_snapshot(meta(dt.date(2025, 1, 15)), *frames("Alpha Co."))
        assert sorted(store.read_as_of(dt.date(2024, 1, 1)).entities["name"]) == ["Alpha Co.", "Gone Co."]
        assert sorted(store.read_as_of(dt.date(2024, 12, 1)).entities["name"]) == ["Alpha Co."]
        assert store.read_current().entities["name"].to_list() == ["Alpha Co."]


def test_invalid_frames_leave_the_store_untouched(tmp_path):
    entities, names = frames("Alpha Co.")
    orphan = pl.DataFrame({"entity_id": ["uflpa:nobody"], "name": ["Ghost"], "kind": ["alias"], "lang": ["en"]})
    with Store(tmp_path / "db.duckdb") as store:
        kept = store.add_snapshot(meta(dt.date(2023, 6, 12)), entities, names)
        with pytest.raises(SchemaError, match="belong to no entity"):
            store.add_snapshot(meta(dt.date(2024, 1, 1)), entities, pl.concat([names, orphan]))
        with pytest.raises(SchemaError, match="no entities"):
            store.add_snapshot(meta(dt.date(2024, 1, 1)), entities.clear(), names.clear())
        assert store.current_snapshots()["snapshot_id"].to_list() == [kept]
        assert store.snapshots().height == 1


def test_stale_normalised_names_are_recomputed_on_open(tmp_path):
    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        store.add_snapshot(meta(dt.date(2023, 6, 12)), *frames("Camel Group Co., Ltd."))
        store.con.execute("UPDATE names SET norm = 'stale'")
        store.con.execute("UPDATE meta SET value = 'old' WHERE key = 'normalizer_version'")
    with Store(path) as store:
        norms = set(store.read_current().names["norm"].to_list())
    assert "stale" not in norms


def test_read_only_store_refuses_writes(tmp_path):
    path = tmp_path / "db.duckdb"
    Store(path).close()
    with Store(path, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.add_snapshot(meta(dt.date(2023, 6, 12)), *frames("Alpha Co."))


def test_database_file_is_plain_duckdb(tmp_path):
    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        store.add_snapshot(meta(dt.date(2023, 6, 12)), *frames("Alpha Co."))
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM entities").fetchone()[0] == 1
    con.close()


def _hold_database(path, seconds: float):
    """Another process that opens the database for writing and keeps it open."""
    import subprocess
    import sys

    code = (
        "import sys, time; from screener.store import Store; "
        f"s = Store({str(path)!r}); print('held', flush=True); time.sleep({seconds}); s.close()"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_process_gets_a_clear_message_when_the_database_stays_busy(tmp_path, monkeypatch):
    path = tmp_path / "busy.duckdb"
    holder = _hold_database(path, 5)
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "0.5")
    try:
        with pytest.raises(StoreError, match="in use by another screener process"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()


def test_second_process_waits_for_the_first_and_then_opens(tmp_path, monkeypatch):
    path = tmp_path / "busy.duckdb"
    holder = _hold_database(path, 1)
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "30")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
    holder.wait()


KILLED_WRITER = """
import datetime as dt, sys, time
sys.path.insert(0, {repo!r})
from tests.pausing import PausingConnection
from tests.test_store import frames, meta
from screener.store import Store

store = Store({path!r})
store.con = PausingConnection(store.con, lambda: time.sleep(60))
entities, names = frames(*[f"Replacement Entity {{n}}" for n in range(500)])
store.add_snapshot(meta(dt.date(2024, 1, 1)), entities, names)
"""


def test_process_killed_mid_snapshot_leaves_the_previous_snapshot_in_force(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "lists.duckdb"
    with Store(path) as store:
        previous = store.add_snapshot(meta(dt.date(2023, 8, 2)), *frames("Hoshine Silicon Industry Co., Ltd."))
    script = KILLED_WRITER.format(repo=str(Path(__file__).parent.parent), path=str(path))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "mid-transaction"
    writer.kill()
    writer.wait()
    with Store(path) as store:
        current = store.current_snapshots()
        lists = store.read_current()
    assert current["snapshot_id"].to_list() == [previous]
    assert lists.entities["name"].to_list() == ["Hoshine Silicon Industry Co., Ltd."]
    assert lists.names.height == 2


def test_the_lists_in_force_are_kept_beside_the_database_until_it_changes(lists_db, tmp_path):
    kept, reads = tmp_path / "kept", []

    def read(as_of: dt.date | None = None):
        reads.append(as_of)
        with Store(lists_db) as store:
            return store.read_current(as_of)

    first = read_lists_kept(lists_db, None, kept, read)
    again = read_lists_kept(lists_db, None, kept, read)
    assert reads == [None]
    for table in LIST_TABLES:
        assert getattr(again, table).equals(getattr(first, table))
    then = dt.date(2024, 6, 30)
    read_lists_kept(lists_db, then, kept, lambda: read(then))
    assert reads == [None, then]
    with Store(lists_db) as store:
        store.con.execute("UPDATE entities SET name = 'Renamed Holdings Ltd' WHERE entity_id = ?",
                          [first.entities["entity_id"][0]])
    changed = read_lists_kept(lists_db, None, kept, read)
    assert reads == [None, then, None] and "Renamed Holdings Ltd" in changed.entities["name"].to_list()
    assert read_lists_kept(lists_db, None, kept, read).entities.equals(changed.entities) and len(reads) == 3


def test_lists_read_while_another_process_writes_are_not_kept(lists_db, tmp_path):
    kept = tmp_path / "kept"

    def read_during_a_write():
        with Store(lists_db) as store:
            lists = store.read_current()
            store.con.execute("INSERT INTO meta VALUES ('written meanwhile', 'yes')")
        return lists

    read_lists_kept(lists_db, None, kept, read_during_a_write)
    assert not list(kept.glob("lists-*"))


def test_a_database_failing_on_its_first_query_is_a_store_error(lists_db, monkeypatch):
    """A file damaged between connecting and the first query (a service replaced under it) fails as StoreError, which
    the CLI and the job runner report in one line, instead of an unexpected DuckDB error."""

    def damaged(self):
        raise duckdb.IOException("IO Error: The file is not a valid DuckDB database file!")

    monkeypatch.setattr(Store, "_refuse_newer_schema", damaged)
    with pytest.raises(StoreError, match="damaged or is not a screener database"):
        Store(lists_db)
