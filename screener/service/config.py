"""How the service runs: the database, who may read without a key, CORS, request size limits.

`screener serve` passes these to every worker process through the environment (SCREENER_DB and the
SCREENER_SERVICE_* variables below), so a worker started by uvicorn reads the same settings.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from screener import settings
from screener.paths import default_db_path

MULTIPART_OVERHEAD = 1024**2
DEFAULT_RATE_PER_MINUTE = 600
"""Requests a minute an API key may make unless `screener keys add --rate` says otherwise."""


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service instance."""

    db_path: Path
    open_reads: bool = True  # read endpoints answer without a key (the default on loopback)
    cors_origins: tuple[str, ...] = ()
    max_json_bytes: int = settings.SERVICE_MAX_JSON_BYTES.default
    max_upload_bytes: int = settings.SERVICE_MAX_UPLOAD_BYTES.default
    gather_seconds: float = settings.SERVICE_GATHER_SECONDS.default
    pin_worker: bool = False  # each worker process on a core of its own (`screener serve`, unless $SCREENER_ONE_CORE=0)

    @classmethod
    def from_env(cls) -> ServiceConfig:
        return cls(
            db_path=default_db_path(),
            open_reads=settings.SERVICE_OPEN_READS.value(),
            cors_origins=settings.SERVICE_CORS_ORIGINS.value(),
            max_json_bytes=settings.SERVICE_MAX_JSON_BYTES.value(),
            max_upload_bytes=settings.SERVICE_MAX_UPLOAD_BYTES.value(),
            gather_seconds=settings.SERVICE_GATHER_SECONDS.value(),
            pin_worker=True,
        )

    def export(self) -> None:
        """Put this configuration in the environment, where from_env() finds it in every worker process."""
        settings.export({
            settings.DB: str(self.db_path),
            settings.SERVICE_OPEN_READS: "1" if self.open_reads else "0",
            settings.SERVICE_CORS_ORIGINS: ",".join(self.cors_origins),
            settings.SERVICE_MAX_JSON_BYTES: str(self.max_json_bytes),
            settings.SERVICE_MAX_UPLOAD_BYTES: str(self.max_upload_bytes),
            settings.SERVICE_GATHER_SECONDS: str(self.gather_seconds),
        })


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
