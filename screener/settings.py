"""Every environment variable the screener reads, with its default and meaning: the only module that reads them.

A setting is read when it is used (not at import), so a test or a long-running app sees the current value.
An empty variable means the default; a value that cannot be used raises `SettingError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from screener.errors import SettingError

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, its default, what it does, and how its text becomes a value."""

    name: str
    default: T
    doc: str
    parse: Callable[[str], T]

    def value(self) -> T:
        """The variable's value now, or the default when it is unset or empty."""
        raw = os.environ.get(self.name, "").strip()
        if not raw:
            return self.default
        try:
            return self.parse(raw)
        except ValueError as error:
            raise SettingError(f"${self.name} {error}; unset it to use the default ({self.default})") from None


def one_blas_thread() -> None:
    """Have numpy's OpenBLAS start one thread, not one per core, when numpy loads: the screener does no linear algebra,
    and the threads cost a tenth of the CPU of a cold `screener check` on 2 cores. A value the user set stands."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def one_polars_thread() -> None:
    """Have polars start one thread, not one per core, when it loads in a process whose threads all run on one core
    (each worker of `screener serve`): a pool of two taking turns on one core cost ~10 % of a single-name /match on 2
    cores (benchmarks/service.py). A value the user set stands."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


POLARS_ALLOCATOR = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
"""jemalloc's options for polars' allocator: freed pages kept ten seconds for reuse before they go back to the system."""


def allocator_keeps_freed_pages() -> None:
    """Have polars' allocator (jemalloc, reading $_RJEM_MALLOC_CONF when polars loads) keep freed pages for reuse a
    while: screening a file frees and takes back memory all along, and giving it back at once cost ~1.2 s of kernel time
    in a million rows (~5 % of the run; ~100 MiB more peak memory, measured with benchmarks/throughput.py). A value the
    user set stands."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_ALLOCATOR)


def whole_days(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(f"must be a whole number of days, not {raw!r}")
    return int(raw)


def seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number of seconds, not {raw!r}") from None
    if not value >= 0:
        raise ValueError(f"must be zero or more seconds, not {raw!r}")
    return value


def flag(raw: str) -> bool:
    """'0', 'false', 'no' and 'off' are off; any other text is on."""
    return raw.casefold() not in ("0", "false", "no", "off")


def path(raw: str) -> Path:
    return Path(raw).expanduser()


def whole_bytes(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(f"must be a number of bytes, not {raw!r}")
    return int(raw)


def comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())



def spark_started_outside() -> bool:
    """Whether Spark's JVM was started before Python (spark-submit, a notebook): Spark's own variable, not ours."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_workers_run(executable: str) -> None:
    """Spark's Python workers run `executable`, unless the user chose theirs ($PYSPARK_PYTHON, Spark's own)."""
    os.environ.setdefault("PYSPARK_PYTHON", executable)

DB = Setting[Path | None](
    "SCREENER_DB", None,
    "The DuckDB database file (lists, portfolios, decisions); `--db` overrides it. Default: screener.duckdb in "
    "the user's data directory.",
    path,
)
LOCK_TIMEOUT = Setting[float](
    "SCREENER_LOCK_TIMEOUT", 30.0,
    "Seconds to wait while another screener process (an ingest, a screen) holds the database.",
    seconds,
)
MAX_AGE_DAYS = Setting[int](
    "SCREENER_MAX_AGE_DAYS", 90,
    "Age in days past which a list is reported as out of date in every output and by `screener doctor`.",
    whole_days,
)
ANALYST = Setting[str](
    "SCREENER_ANALYST", "",
    "Who records decisions: the default analyst of `screener decide`, `decisions import` and the web app's "
    "Portfolios page (the CLI falls back to the login name; the web app, on a shared server, to nobody).",
    str,
)
DEBUG = Setting[bool](
    "SCREENER_DEBUG", False,
    "Show the full traceback of every error instead of one line (for bug reports).",
    flag,
)
ONE_CORE = Setting[bool](
    "SCREENER_ONE_CORE", True,
    "Whether single-name work (`screener check`, each service worker, the web app's Check page while it checks) runs "
    "all its threads on one CPU core (0 to "
    "let them roam): small steps then skip waking a thread on another core, which on virtual machines costs more "
    "than the step itself. Each service worker then also starts polars with one thread.",
    flag,
)

SERVICE_OPEN_READS = Setting[bool](
    "SCREENER_SERVICE_OPEN_READS", True,
    "Whether the service's read endpoints answer without an API key (0 to require one); `screener serve` sets it.",
    flag,
)
SERVICE_CORS_ORIGINS = Setting[tuple[str, ...]](
    "SCREENER_SERVICE_CORS_ORIGINS", (),
    "Comma-separated origins a browser may call the service from (CORS is off when empty); `screener serve` sets it.",
    comma_list,
)
SERVICE_MAX_JSON_BYTES = Setting[int](
    "SCREENER_SERVICE_MAX_JSON_BYTES", 2 * 1024**2,
    "The largest JSON request body the service accepts, in bytes.",
    whole_bytes,
)
SERVICE_MAX_UPLOAD_BYTES = Setting[int](
    "SCREENER_SERVICE_MAX_UPLOAD_BYTES", 200 * 1024**2,
    "The largest supplier file `POST /screen` and `POST /portfolios` accept, in bytes.",
    whole_bytes,
)
SERVICE_GATHER_SECONDS = Setting[float](
    "SCREENER_SERVICE_GATHER_SECONDS", 0.01,
    "Under concurrent load, how long a service worker waits for the clients it just answered to come back before "
    "screening the next requests, so that they share one screening (0: never wait; a lone client never waits).",
    seconds,
)
JOB_RETENTION_DAYS = Setting[int](
    "SCREENER_JOB_RETENTION_DAYS", 30,
    "Days a finished service job (its upload, stored result and reports) is kept; older ones are deleted when a job "
    "is submitted or the service starts. 0 keeps every job.",
    whole_days,
)

SETTINGS: tuple[Setting, ...] = (
    DB, LOCK_TIMEOUT, MAX_AGE_DAYS, ANALYST, DEBUG, ONE_CORE, SERVICE_OPEN_READS, SERVICE_CORS_ORIGINS, SERVICE_MAX_JSON_BYTES,
    SERVICE_MAX_UPLOAD_BYTES, SERVICE_GATHER_SECONDS, JOB_RETENTION_DAYS,
)


def export(values: dict[Setting, str]) -> None:
    """Set these variables in this process's environment, where its child processes read them."""
    os.environ.update({setting.name: value for setting, value in values.items()})
