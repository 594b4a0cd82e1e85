"""Where the database, the embedded data and the built-in rules live."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from screener import settings

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    """A top-level folder shipped with the project: inside the wheel, or beside the package in a checkout."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def data_dir() -> Path:
    """The embedded snapshot of the public lists."""
    return _bundled("data")


def rules_dir() -> Path:
    """The built-in rule files."""
    return _bundled("rules")


def default_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database file: --db, then $SCREENER_DB, then the user's data directory."""
    if explicit:
        return Path(explicit).expanduser()
    return settings.DB.value() or Path(platformdirs.user_data_dir("screener", appauthor=False)) / "screener.duckdb"
