"""API keys of the screening service: issued once, stored only as a salted SHA-256 digest, revocable; the one
owner of the `api_keys` table.

A key reads `scr_<key id>_<secret>`: the id finds the stored digest, the 256-bit random secret proves the
holder. A secret that long needs no slow hash (scrypt protects guessable passwords, not random keys).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.errors import ScreenerError
from screener.service.config import DEFAULT_RATE_PER_MINUTE
from screener.store import Store

KEY_PREFIX = "scr"
KEYRING_TTL_S = 2.0
ACTIVE_KEYS = "SELECT key_id, label, salt, digest, rate_per_minute FROM api_keys"


class ApiKeyError(ScreenerError):
    """A key that cannot be created or revoked as asked."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key: who it is for and how many requests a minute it may make."""

    key_id: str
    label: str
    rate_per_minute: int


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def add_key(db_path: Path, label: str, rate_per_minute: int = DEFAULT_RATE_PER_MINUTE) -> tuple[ApiKey, str]:
    """Create a key; return it with the token to hand to its holder (shown once, never stored)."""
    label = label.strip()
    if not label:
        raise ApiKeyError("give the key a label (who or what uses it), e.g. `screener keys add erp`")
    if rate_per_minute < 1:
        raise ApiKeyError(f"the rate limit must be at least 1 request a minute, not {rate_per_minute}")
    key_id, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(32), secrets.token_bytes(16)
    with Store(db_path) as store:
        store.con.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, now(), NULL)",
            [key_id, label, salt, _digest(salt, secret), rate_per_minute],
        )
    return ApiKey(key_id, label, rate_per_minute), f"{KEY_PREFIX}_{key_id}_{secret}"


def list_keys(db_path: Path) -> pl.DataFrame:
    """Every key ever issued (never its secret), newest first."""
    with Store(db_path) as store:
        return store.query(
            "SELECT key_id, label, rate_per_minute, created_at, revoked_at FROM api_keys ORDER BY created_at DESC"
        )


def revoke_key(db_path: Path, key_id: str) -> None:
    """Revoke a key by its id; it stops working within KEYRING_TTL_S seconds on a running server."""
    with Store(db_path) as store:
        found = store.scalar("SELECT count(*) FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [key_id])
        if not found:
            raise ApiKeyError(f"no active key has the id {key_id!r}; `screener keys list` shows them")
        store.con.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = ?", [key_id])


def active_key_count(db_path: Path) -> int:
    with Store(db_path) as store:
        return int(store.scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL") or 0)


class KeyRing:
    """The active keys, read from the store at most every KEYRING_TTL_S seconds, so a revocation or a new key
    reaches a running server quickly without a database read per request."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[bytes, bytes, ApiKey]] = {}
        self._read_at = -float("inf")

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < KEYRING_TTL_S:
                return
            with Store(self.db_path) as store:
                rows = store.query(f"{ACTIVE_KEYS} WHERE revoked_at IS NULL")
            self._keys = {row["key_id"]: self._entry(row) for row in rows.iter_rows(named=True)}
            self._read_at = time.monotonic()

    def _look_up(self, key_id: str) -> None:
        """Read one key the ring does not hold yet (created since the last refresh)."""
        with Store(self.db_path) as store:
            rows = store.query(f"{ACTIVE_KEYS} WHERE revoked_at IS NULL AND key_id = ?", [key_id])
        with self._lock:
            for row in rows.iter_rows(named=True):
                self._keys[row["key_id"]] = self._entry(row)

    @staticmethod
    def _entry(row: dict) -> tuple[bytes, bytes, ApiKey]:
        return row["salt"], row["digest"], ApiKey(row["key_id"], row["label"], row["rate_per_minute"])

    @property
    def configured(self) -> bool:
        self._refresh()
        return bool(self._keys)

    def verify(self, token: str) -> ApiKey | None:
        """The key a token belongs to, or None when it is malformed, unknown, revoked or wrong."""
        prefix, _, rest = token.strip().partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        self._refresh()
        if key_id not in self._keys:
            self._look_up(key_id)
        stored = self._keys.get(key_id)
        if stored is None:
            return None
        salt, digest, key = stored
        return key if hmac.compare_digest(_digest(salt, secret), digest) else None
