"""Who may call what: API keys from the request, open reads on loopback, and a per-key rate limit."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path

from fastapi import Request

from screener.service.errors import ServiceError
from screener.service.keys import ApiKey

KEY_HEADER = "x-api-key"
KEY_QUERY = "api_key"
AUTH_SCHEMES = ("bearer", "apikey")


def request_token(request: Request) -> str | None:
    """The API key a request carries: `Authorization: Bearer KEY` (or `ApiKey KEY`), `X-API-Key: KEY`, or
    `?api_key=KEY` (for OpenRefine, which cannot set headers)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in AUTH_SCHEMES and value.strip():
        return value.strip()
    return request.headers.get(KEY_HEADER) or request.query_params.get(KEY_QUERY) or None


RATE_LIMIT_BUSY_TIMEOUT_S = 5.0
BUCKETS_TABLE = """CREATE TABLE IF NOT EXISTS buckets (
    key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL
)"""


def rate_limit_path(db_path: Path) -> Path:
    """Where the service's request allowances are kept: an SQLite file beside the database."""
    return Path(db_path).with_name(f"{Path(db_path).name}.ratelimit.sqlite")


class RateLimiter:
    """A token bucket per key, `rate_per_minute` requests a minute with bursts up to a minute's worth, shared by every
    worker process of the server (and kept across restarts).

    The buckets live in an SQLite file in WAL mode beside the database, not in the DuckDB store: DuckDB lets one
    process at a time open its file for writing, so every keyed request of every worker would wait for the file (and
    for a job writing its results); SQLite holds its write lock for the microseconds of one bucket update."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._con = sqlite3.connect(path, timeout=RATE_LIMIT_BUSY_TIMEOUT_S, isolation_level=None,
                                    check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(BUCKETS_TABLE)

    def close(self) -> None:
        self._con.close()

    def take(self, key: ApiKey) -> None:
        """Spend one request of the key's allowance; ServiceError 429 (with the wait) when none is left."""
        capacity = float(key.rate_per_minute)
        rate = capacity / 60
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")  # the write lock first: no other worker reads the bucket meanwhile
            try:
                now = time.time()
                held = self._con.execute("SELECT tokens, updated FROM buckets WHERE key_id = ?", [key.key_id]).fetchone()
                tokens = capacity if held is None else min(capacity, held[0] + max(0.0, now - held[1]) * rate)
                granted = tokens >= 1
                self._con.execute(
                    "INSERT OR REPLACE INTO buckets (key_id, tokens, updated) VALUES (?, ?, ?)",
                    [key.key_id, tokens - 1 if granted else tokens, now],
                )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
        if not granted:
            raise RateLimited(key, math.ceil((1 - tokens) / rate))


class RateLimited(ServiceError):
    def __init__(self, key: ApiKey, retry_after: int):
        super().__init__(
            "rate_limited",
            f"key {key.key_id} has used its {key.rate_per_minute} requests a minute; retry in {retry_after} s",
            429,
        )
        self.retry_after = retry_after


def missing_key(action: str) -> ServiceError:
    return ServiceError(
        "key_required",
        f"{action} needs an API key: send `Authorization: Bearer KEY` (create one with `screener keys add LABEL`)",
        401,
    )


def invalid_key() -> ServiceError:
    return ServiceError("invalid_key", "the API key is unknown, revoked or mistyped; `screener keys list` shows the keys", 401)
