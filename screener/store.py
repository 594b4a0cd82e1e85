"""The DuckDB list store: versioned snapshots of every source's entities and names."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from screener import normalize, paths, settings
from screener.errors import ScreenerError, first_line
from screener.index_cache import read_entry, write_entry
from screener.schema import ENTITY_SCHEMA, NAME_SCHEMA, conform, validate_frames

if TYPE_CHECKING:
    import duckdb  # imported on connecting: lists kept beside the database are read without starting DuckDB

SCHEMA_VERSION = 4
_LOCK_CONFLICT = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)
_NOT_A_DATABASE = re.compile(r"Corrupt database|not a valid DuckDB database|checksum|invalid|magic", re.IGNORECASE)

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE snapshots (
            snapshot_id INTEGER PRIMARY KEY,
            source VARCHAR NOT NULL,
            title VARCHAR,
            as_of DATE,
            fetched_at TIMESTAMP NOT NULL,
            sha256 VARCHAR,
            url VARCHAR,
            row_count INTEGER NOT NULL,
            name_count INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            origin VARCHAR NOT NULL,
            licence VARCHAR,
            coverage VARCHAR,
            etag VARCHAR,
            last_modified VARCHAR
        )""",
        "CREATE SEQUENCE snapshot_ids START 1",
        """CREATE TABLE entities (
            snapshot_id INTEGER NOT NULL,
            entity_id VARCHAR NOT NULL, source VARCHAR NOT NULL, list_name VARCHAR, list_kind VARCHAR,
            authority VARCHAR, program VARCHAR, entity_type VARCHAR, name VARCHAR NOT NULL,
            country VARCHAR, addresses VARCHAR, sector VARCHAR, merchandise VARCHAR, status VARCHAR,
            start_date DATE, end_date DATE, citation VARCHAR, remarks VARCHAR, source_url VARCHAR,
            includes_affiliates BOOLEAN,
            PRIMARY KEY (snapshot_id, entity_id)
        )""",
        """CREATE TABLE names (
            snapshot_id INTEGER NOT NULL,
            entity_id VARCHAR NOT NULL, name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            lang VARCHAR NOT NULL, norm VARCHAR NOT NULL
        )""",
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    ],
    2: [
        "CREATE SEQUENCE portfolio_ids START 1",
        """CREATE TABLE portfolios (
            portfolio_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL, source_file VARCHAR, input_columns VARCHAR NOT NULL,
            column_roles VARCHAR NOT NULL, supplier_count INTEGER NOT NULL
        )""",
        """CREATE TABLE portfolio_suppliers (
            portfolio_id INTEGER NOT NULL, supplier_key VARCHAR NOT NULL, position INTEGER NOT NULL,
            name VARCHAR, country VARCHAR, record VARCHAR NOT NULL,
            PRIMARY KEY (portfolio_id, supplier_key)
        )""",
        "CREATE SEQUENCE run_ids START 1",
        """CREATE TABLE screening_runs (
            run_id INTEGER PRIMARY KEY, portfolio_id INTEGER NOT NULL, run_at TIMESTAMP NOT NULL,
            trigger VARCHAR NOT NULL, snapshots VARCHAR NOT NULL, tool_version VARCHAR, rules_version VARCHAR,
            thresholds VARCHAR, previous_run_id INTEGER
        )""",
        """CREATE TABLE run_suppliers (
            run_id INTEGER NOT NULL, supplier_key VARCHAR NOT NULL, risk_tier VARCHAR NOT NULL,
            risk_score DOUBLE, reasons VARCHAR, PRIMARY KEY (run_id, supplier_key)
        )""",
        """CREATE TABLE run_matches (
            run_id INTEGER NOT NULL, supplier_key VARCHAR NOT NULL, entity_id VARCHAR NOT NULL,
            source VARCHAR, list_name VARCHAR, program VARCHAR, entity_name VARCHAR, matched_name VARCHAR,
            score DOUBLE, band VARCHAR, evidence VARCHAR NOT NULL, snapshot_id INTEGER, state VARCHAR NOT NULL,
            PRIMARY KEY (run_id, supplier_key, entity_id)
        )""",
        """CREATE TABLE run_changes (
            run_id INTEGER NOT NULL, supplier_key VARCHAR NOT NULL, change VARCHAR NOT NULL,
            entity_id VARCHAR, entity_name VARCHAR, list_name VARCHAR, program VARCHAR, band VARCHAR,
            old_tier VARCHAR, new_tier VARCHAR, detail VARCHAR, cause VARCHAR
        )""",
        "CREATE SEQUENCE decision_ids START 1",
        """CREATE TABLE decisions (
            decision_id INTEGER PRIMARY KEY, supplier_key VARCHAR NOT NULL, entity_id VARCHAR NOT NULL,
            decision VARCHAR NOT NULL CHECK (decision IN ('confirmed', 'false_positive', 'escalated')),
            comment VARCHAR NOT NULL, analyst VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL,
            evidence VARCHAR NOT NULL, portfolio VARCHAR, run_id INTEGER, supplier_name VARCHAR,
            entity_name VARCHAR, list_name VARCHAR, snapshot_id INTEGER, origin VARCHAR NOT NULL
        )""",
    ],
    3: [  # the screening service (screener/service/): API keys and file-screening jobs
        """CREATE TABLE api_keys (
            key_id VARCHAR PRIMARY KEY, label VARCHAR NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL,
            rate_per_minute INTEGER NOT NULL, created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP
        )""",
        """CREATE TABLE jobs (
            job_id VARCHAR PRIMARY KEY, key_id VARCHAR, status VARCHAR NOT NULL, runner VARCHAR, filename VARCHAR NOT NULL,
            options VARCHAR NOT NULL, input BLOB, rows_done INTEGER NOT NULL, rows_total INTEGER,
            created_at TIMESTAMP NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP, error VARCHAR,
            result_rows BLOB, result_candidates BLOB, result_metadata VARCHAR
        )""",
    ],
    4: [  # a job's result kept batch by batch as it is screened (bounded memory), no longer as one whole blob
        """CREATE TABLE job_parts (
            job_id VARCHAR NOT NULL, part INTEGER NOT NULL, result_rows BLOB NOT NULL, result_candidates BLOB NOT NULL,
            PRIMARY KEY (job_id, part)
        )""",
        "INSERT INTO job_parts SELECT job_id, 0, result_rows, result_candidates FROM jobs WHERE result_rows IS NOT NULL",
        "ALTER TABLE jobs DROP COLUMN result_rows",
        "ALTER TABLE jobs DROP COLUMN result_candidates",
    ],
}


Register = Callable[[str, pl.DataFrame], None]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[Register]:
    """One all-or-nothing transaction; yields a function that registers frames as views until it ends."""
    views: list[str] = []

    def register(view: str, frame: pl.DataFrame) -> None:
        con.register(view, frame)
        views.append(view)

    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        yield register
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):  # a failed rollback (disk full, say) must not hide why the work failed
            con.execute("ROLLBACK")
        raise
    finally:
        for view in views:
            con.unregister(view)


class StoreError(ScreenerError):
    """The database cannot be opened or written as asked."""


@dataclass(frozen=True)
class SnapshotMeta:
    """What is known about a snapshot before it is stored."""

    source: str
    title: str
    as_of: dt.date | None
    url: str
    sha256: str
    origin: str
    licence: str = ""
    coverage: str = ""
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Lists:
    """The entities and names of a set of snapshots, read into memory."""

    snapshots: pl.DataFrame
    entities: pl.DataFrame
    names: pl.DataFrame


class Store:
    """One DuckDB file holding every snapshot of every list."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = _connect_waiting_for_lock(self.path, read_only)
        self._open()

    def _open(self) -> None:
        """Check and bring the schema up to date; a file damaged after connecting fails as a StoreError too."""
        import duckdb

        try:
            self._refuse_newer_schema()
            if not self.read_only:
                self._migrate()
                self._refresh_norms()
        except duckdb.Error as error:
            self.con.close()
            raise StoreError(_open_failure(self.path, error)) from error

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def query(self, sql: str, params: list[object] | dict[str, object] | None = None) -> pl.DataFrame:
        """Run a read query and return its rows as a frame (over the Arrow stream interface: `.pl()` would import
        pyarrow, a quarter of a second on the first query of a process)."""
        return pl.DataFrame(self.con.sql(sql, params=params))

    def scalar(self, sql: str, params: list[object] | None = None) -> Any:
        """Run a read query and return the first column of its first row (None when empty)."""
        rows = self.con.sql(sql, params=params).fetchall()
        return rows[0][0] if rows else None

    def schema_version(self) -> int:
        exists = self.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
        if not exists:
            return 0
        return self.scalar("SELECT max(version) FROM schema_version") or 0

    def _refuse_newer_schema(self) -> None:
        """A database written by a newer screener is left untouched: its tables may mean something else."""
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            self.close()
            raise StoreError(
                f"the database {self.path} was written by a newer screener (schema version {version}; this one "
                f"reads up to version {SCHEMA_VERSION}): upgrade screener to use it, or give another --db"
            )

    def _migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
        current = self.schema_version()
        for version in sorted(v for v in _MIGRATIONS if v > current):
            with transaction(self.con):
                for statement in _MIGRATIONS[version]:
                    self.con.execute(statement)
                self.con.execute("INSERT INTO schema_version VALUES (?, now())", [version])

    def _refresh_norms(self) -> None:
        """Recompute stored normalised names when the normaliser changed since they were written."""
        if self.scalar("SELECT value FROM meta WHERE key = 'normalizer_version'") == normalize.VERSION:
            return
        names = self.query("SELECT DISTINCT name FROM names")
        with transaction(self.con) as register:
            if len(names):
                register("name_norms", names.with_columns(norm=normalize.normalize_series(names["name"], listed=True)))
                self.con.execute(
                    "UPDATE names SET norm = name_norms.norm FROM name_norms WHERE names.name = name_norms.name"
                )
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('normalizer_version', ?)", [normalize.VERSION])

    def add_snapshot(self, meta: SnapshotMeta, entities: pl.DataFrame, names: pl.DataFrame) -> int:
        """Store a new current snapshot of one source in one transaction; return its id."""
        if self.read_only:
            raise StoreError("the database is open read-only")
        entities = conform(entities, ENTITY_SCHEMA, "entities")
        names = conform(names, NAME_SCHEMA, "names").unique(maintain_order=True)
        validate_frames(entities, names)
        names = names.with_columns(norm=normalize.normalize_series(names["name"], listed=True))
        with transaction(self.con) as register:
            snapshot_id = self.scalar("SELECT nextval('snapshot_ids')")
            self.con.execute(
                "UPDATE snapshots SET status = 'superseded' WHERE source = ? AND status = 'current'", [meta.source]
            )
            self.con.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, 'current', ?, ?, ?, ?, ?)",
                [snapshot_id, meta.source, meta.title, meta.as_of, meta.sha256, meta.url, len(entities),
                 len(names), meta.origin, meta.licence, meta.coverage, meta.etag, meta.last_modified],
            )
            register("new_entities", entities)
            self.con.execute("INSERT INTO entities SELECT ?, * FROM new_entities", [snapshot_id])
            register("new_names", names)
            self.con.execute("INSERT INTO names SELECT ?, * FROM new_names", [snapshot_id])
        return snapshot_id

    def snapshots(self, source: str | None = None) -> pl.DataFrame:
        """Every snapshot, newest first."""
        query = "SELECT * FROM snapshots"
        params: list[object] = []
        if source:
            query += " WHERE source = ?"
            params.append(source)
        return self.query(query + " ORDER BY snapshot_id DESC", params)

    def current_snapshots(self) -> pl.DataFrame:
        """One snapshot per source: the current one."""
        return self.query("SELECT * FROM snapshots WHERE status = 'current' ORDER BY source")

    def update_snapshot_check(self, snapshot_id: int, etag: str, last_modified: str) -> None:
        """Record validators of an unchanged download against the snapshot it confirmed."""
        self.con.execute(
            "UPDATE snapshots SET etag = ?, last_modified = ? WHERE snapshot_id = ?",
            [etag, last_modified, snapshot_id],
        )

    def read_lists(self, snapshot_ids: list[int]) -> Lists:
        """The entities and names of the given snapshots."""
        ids = list(snapshot_ids)
        snapshots = self.query("SELECT * FROM snapshots WHERE list_contains(?, snapshot_id)", [ids])
        entities = self.query("SELECT * FROM entities WHERE list_contains(?, snapshot_id)", [ids])
        names = self.query("SELECT * FROM names WHERE list_contains(?, snapshot_id)", [ids])
        return Lists(snapshots=snapshots, entities=entities, names=names)

    def read_current(self, as_of: dt.date | None = None) -> Lists:
        """The lists in force now, or the listings in force on `as_of` (see read_as_of)."""
        if as_of is not None:
            return self.read_as_of(as_of)
        return self.read_lists(self.current_snapshots()["snapshot_id"].to_list())

    def read_as_of(self, as_of: dt.date) -> Lists:
        """The listings in force on `as_of`, by their listing/effective and end dates.

        Every source keeps its current snapshot (none is dropped for being newer than the date); an entity
        older snapshots hold but the current one no longer does counts when a snapshot dated on or after `as_of`
        still listed it. A listing that ended after `as_of` was in force then: it is read as active, its remarks
        saying how and when it ended."""
        snapshots = self.current_snapshots()
        entities = self.query(
            """WITH held AS (
                   SELECT e.* FROM entities e JOIN snapshots s USING (snapshot_id)
                   WHERE s.status = 'current' OR (s.status = 'superseded' AND s.as_of >= $as_of)
                   QUALIFY row_number() OVER (PARTITION BY e.entity_id ORDER BY e.snapshot_id DESC) = 1
               )
               SELECT * REPLACE (
                   CASE WHEN end_date IS NULL THEN status ELSE 'active' END AS status,
                   CAST(NULL AS DATE) AS end_date,
                   CASE WHEN end_date IS NULL THEN remarks ELSE concat_ws(' ',
                       'In force on ' || strftime($as_of, '%Y-%m-%d') || '; ' || coalesce(status, 'ended')
                       || ' on ' || strftime(end_date, '%Y-%m-%d') || '.', remarks) END AS remarks
               ) FROM held
               WHERE (start_date IS NULL OR start_date <= $as_of) AND (end_date IS NULL OR end_date > $as_of)
               ORDER BY snapshot_id, entity_id""",
            {"as_of": as_of},
        )
        return Lists(snapshots=snapshots, entities=entities, names=self._names_of(entities))

    def entity_history(self, entity_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Every stored listing of one entity with its snapshot (newest first), and the names of the newest."""
        listings = self.query(
            """SELECT e.*, s.as_of AS snapshot_as_of, s.status AS snapshot_status, s.origin AS snapshot_origin,
                      s.title AS snapshot_title, s.sha256 AS snapshot_sha256
               FROM entities e JOIN snapshots s USING (snapshot_id)
               WHERE e.entity_id = ? ORDER BY e.snapshot_id DESC""",
            [entity_id],
        )
        if listings.is_empty():
            return listings, self.query("SELECT * FROM names WHERE false")
        return listings, self._names_of(listings.head(1))

    def _names_of(self, entities: pl.DataFrame) -> pl.DataFrame:
        """The names of the given (snapshot_id, entity_id) rows."""
        self.con.register("chosen_entities", entities.select("snapshot_id", "entity_id"))
        try:
            return self.query("SELECT n.* FROM names n JOIN chosen_entities c USING (snapshot_id, entity_id)")
        finally:
            self.con.unregister("chosen_entities")


def _connect_waiting_for_lock(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect, waiting while another process holds the file (an ingest, say), up to the lock timeout."""
    import duckdb

    deadline = time.monotonic() + settings.LOCK_TIMEOUT.value()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if not _LOCK_CONFLICT.search(str(error)):
                raise StoreError(_open_failure(path, error)) from error
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"the database {path} is in use by another screener process (an ingest or a screen); "
                    f"wait for it to finish and try again, or raise ${settings.LOCK_TIMEOUT.name} (seconds)"
                ) from error
            time.sleep(0.2)


def _open_failure(path: Path, error: duckdb.Error) -> str:
    """Why the file cannot be opened, without quoting any of its content."""
    if _NOT_A_DATABASE.search(str(error)):
        return (f"the database {path} is damaged or is not a screener database; move it aside (the lists are "
                "rebuilt from the embedded data on the next run) or give another --db")
    return f"cannot open the database {path}: {first_line(error)}"


LIST_TABLES = ("snapshots", "entities", "names")


def lists_state(path: Path, as_of: dt.date | None) -> str | None:
    """A digest of all the lists in force read from the database at `path` depend on: the file and its write-ahead
    log as the file system sees them (any write changes them), the date asked for, the schema and normaliser
    versions, the embedded data and the code that reads them; None when the file cannot be seen (not created yet)."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        for file in (path, path.with_name(f"{path.name}.wal")):
            if file.exists() or file == path:
                state = file.stat()
                digest.update(f"{state.st_dev}:{state.st_ino}:{state.st_size}:{state.st_mtime_ns}:{state.st_ctime_ns};".encode())
        for source in (Path(__file__), Path(__file__).with_name("embedded.py"), paths.data_dir() / "manifest.json"):
            digest.update(source.read_bytes())
    except OSError:
        return None
    digest.update(f"{as_of}:{SCHEMA_VERSION}:{normalize.VERSION}".encode())
    return digest.hexdigest()


def read_lists_kept(path: Path, as_of: dt.date | None, folder: Path, read: Callable[[], Lists]) -> Lists:
    """The lists in force `read` returns from the database at `path`, kept in `folder` for the next run while the file
    stays as it is: a check then reads three small Arrow files instead of starting DuckDB. A copy is kept only when
    the file did not change while it was read, so it is always a state the database was in."""
    state = lists_state(path, as_of)
    kept = read_entry(folder, "lists", state) if state else None
    if kept is not None and tuple(kept) == LIST_TABLES:
        return Lists(**kept)
    lists = read()
    if state and lists_state(path, as_of) == state:
        write_entry(folder, "lists", state, {table: getattr(lists, table) for table in LIST_TABLES})
    return lists
