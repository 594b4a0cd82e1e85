"""Request allowances of API keys: a token bucket per key, shared by every process on the machine that serves.

The buckets live in an SQLite file in WAL mode beside the database, not in the DuckDB store: DuckDB lets one process
at a time open its file for writing, so every keyed request of every service worker would wait for the file (and for
a job writing its results); SQLite holds its write lock for the microseconds of one bucket update.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path

BUSY_TIMEOUT_S = 5.0
BUCKETS_TABLE = """CREATE TABLE IF NOT EXISTS buckets (
    key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL
)"""


def rate_limit_path(db_path: Path) -> Path:
    """Where the request allowances are kept: an SQLite file beside the database."""
    return Path(db_path).with_name(f"{Path(db_path).name}.ratelimit.sqlite")


class RateLimiter:
    """A token bucket per key, `rate_per_minute` requests a minute with bursts up to a minute's worth, shared by
    every process that opens the same file (and kept across restarts)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(BUCKETS_TABLE)

    def close(self) -> None:
        self._con.close()

    def take(self, key_id: str, rate_per_minute: int) -> int:
        """Spend one request of the key's allowance: 0 when granted, else the whole seconds until one is left."""
        capacity = float(rate_per_minute)
        rate = capacity / 60
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")  # the write lock first: no other process reads the bucket meanwhile
            try:
                now = time.time()
                held = self._con.execute("SELECT tokens, updated FROM buckets WHERE key_id = ?", [key_id]).fetchone()
                tokens = capacity if held is None else min(capacity, held[0] + max(0.0, now - held[1]) * rate)
                granted = tokens >= 1
                self._con.execute(
                    "INSERT OR REPLACE INTO buckets (key_id, tokens, updated) VALUES (?, ?, ?)",
                    [key_id, tokens - 1 if granted else tokens, now],
                )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
        return 0 if granted else math.ceil((1 - tokens) / rate)
