"""Who may call what: API keys from the request, open reads on loopback, and a per-key rate limit."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

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


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `rate_per_minute` requests a minute, bursts up to a minute's worth."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: ApiKey) -> None:
        """Spend one request of the key's allowance; ServiceError 429 (with the wait) when none is left."""
        now = time.monotonic()
        rate = key.rate_per_minute / 60
        with self._lock:
            bucket = self._buckets.setdefault(key.key_id, _Bucket(float(key.rate_per_minute), now))
            bucket.tokens = min(float(key.rate_per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1:
                wait = math.ceil((1 - bucket.tokens) / rate)
                raise RateLimited(key, wait)
            bucket.tokens -= 1


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
