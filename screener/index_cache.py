"""Tables kept on disk between runs, keyed by what they are built from: the matcher's index, and the lists in force
it is built from.

A cache entry is a folder `<kind>-<key>` of Arrow IPC files, one per table, and a `manifest.json` holding each
file's BLAKE2b digest. For the index (`index-`) the key is a digest of the list names and entities, the reference data
and the code that builds it (see `screener.matching.index_key`), so a changed list, table or matcher builds a new
entry; for the lists (`lists-`) a digest of the database file's state (see `screener.store.lists_state`). An entry
whose files are missing, altered or unreadable is rebuilt and replaced, never trusted; a folder that cannot be
written to leaves the tables in memory only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

KEEP_ENTRIES = 4
"""Entries of each kind kept per folder (the newest): lists screened at a few dates (--as-of) do not rebuild each
time."""
_MANIFEST = "manifest.json"

Tables = dict[str, pl.DataFrame]


def cached_tables(folder: Path | None, key: str, build: Callable[[], Tables]) -> Tables:
    """The index tables stored under `key` in `folder`, or built (and stored there for the next run)."""
    if folder is None:
        return build()
    tables = read_entry(folder, "index", key)
    if tables is None:
        tables = build()
        write_entry(folder, "index", key, tables)
    return tables


def read_entry(folder: Path, kind: str, key: str) -> Tables | None:
    """The tables stored under `key` in `folder`, or None when there are none that pass their digests."""
    return _read(Path(folder) / f"{kind}-{key}")


def write_entry(folder: Path, kind: str, key: str, tables: Tables) -> None:
    """Store the tables under `key` in `folder` (nothing when the folder cannot be written to)."""
    _write(Path(folder) / f"{kind}-{key}", tables)


def _read(entry: Path) -> Tables | None:
    """The entry's tables, or None when it is absent or any file fails its digest or cannot be parsed."""
    try:
        manifest = json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
        tables = {}
        for name, digest in manifest["tables"].items():
            content = (entry / f"{name}.arrow").read_bytes()
            if _digest(content) != digest:
                return None
            tables[name] = pl.read_ipc(io.BytesIO(content))
        return tables
    except (OSError, ValueError, KeyError, TypeError, AttributeError, pl.exceptions.PolarsError):
        return None


def _write(entry: Path, tables: Tables) -> None:
    """Store the tables as a new entry (written aside, then moved into place) and drop the oldest entries."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".index-", dir=entry.parent))
    except OSError:
        return
    try:
        digests = {}
        for name, table in tables.items():
            buffer = io.BytesIO()
            table.write_ipc(buffer, compression="uncompressed")
            content = buffer.getvalue()
            (staging / f"{name}.arrow").write_bytes(content)
            digests[name] = _digest(content)
        (staging / _MANIFEST).write_text(json.dumps({"tables": digests}), encoding="utf-8")
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(staging, entry)
    except OSError:
        return
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(entry.parent, entry.name.split("-", 1)[0])


def _prune(folder: Path, kind: str) -> None:
    try:
        entries = sorted(folder.glob(f"{kind}-*"), key=lambda path: path.stat().st_mtime, reverse=True)
    except OSError:  # another process pruned at the same time
        return
    for old in entries[KEEP_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)


def _digest(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()
