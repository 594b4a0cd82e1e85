"""Who may call what: API keys from the request, open reads on loopback, and a per-key rate limit."""

from __future__ import annotations

from fastapi import Request

from screener.api_keys import ApiKey
from screener.rate_limit import RateLimiter
from screener.service.errors import ServiceError

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


def take_request(limiter: RateLimiter, key: ApiKey) -> None:
    """Spend one request of the key's allowance; RateLimited (429, with the wait) when none is left."""
    wait = limiter.take(key.key_id, key.rate_per_minute)
    if wait:
        raise RateLimited(key, wait)


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
