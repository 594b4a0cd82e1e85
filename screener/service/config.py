"""How the service runs: the database, who may read without a key, CORS, request size limits.

`screener serve` passes these to every worker process through the environment (SCREENER_DB and the
SCREENER_SERVICE_* variables below), so a worker started by uvicorn reads the same settings.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from screener.paths import default_db_path
from screener.service.errors import ServiceError
from screener.supplier_io import MAX_FILE_BYTES

OPEN_READS_ENV = "SCREENER_SERVICE_OPEN_READS"
CORS_ENV = "SCREENER_SERVICE_CORS_ORIGINS"
MAX_JSON_ENV = "SCREENER_SERVICE_MAX_JSON_BYTES"
DEFAULT_MAX_JSON_BYTES = 2 * 1024**2
MULTIPART_OVERHEAD = 1024**2


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service instance."""

    db_path: Path
    open_reads: bool = True  # read endpoints answer without a key (the default on loopback)
    cors_origins: tuple[str, ...] = ()
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_upload_bytes: int = MAX_FILE_BYTES + MULTIPART_OVERHEAD

    @classmethod
    def from_env(cls) -> ServiceConfig:
        raw_size = os.environ.get(MAX_JSON_ENV, "").strip()
        if raw_size and not raw_size.isdigit():
            raise ServiceError("bad_setting", f"${MAX_JSON_ENV} must be a number of bytes, not {raw_size!r}")
        return cls(
            db_path=default_db_path(),
            open_reads=os.environ.get(OPEN_READS_ENV, "1") != "0",
            cors_origins=tuple(o.strip() for o in os.environ.get(CORS_ENV, "").split(",") if o.strip()),
            max_json_bytes=int(raw_size) if raw_size else DEFAULT_MAX_JSON_BYTES,
        )

    def export(self) -> None:
        """Put this configuration in the environment, where from_env() finds it in every worker process."""
        os.environ.update({
            "SCREENER_DB": str(self.db_path),
            OPEN_READS_ENV: "1" if self.open_reads else "0",
            CORS_ENV: ",".join(self.cors_origins),
            MAX_JSON_ENV: str(self.max_json_bytes),
        })


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
