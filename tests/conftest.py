"""Shared fixtures: a database loaded from the embedded lists, copied fresh for each test that writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from screener.embedded import ensure_embedded
from screener.store import Store

# The CLI's rich consoles read the terminal width when first imported; give them a wide one so that
# assertions on printed text do not depend on where a line happened to wrap.
os.environ["COLUMNS"] = "250"

# Property tests draw the same examples on every run and have no time limit per example: a loaded CI machine
# must not turn them into flaky failures.
settings.register_profile("screener", derandomize=True, deadline=None)
settings.load_profile("screener")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SUPPLIERS = REPO / "examples" / "suppliers.csv"


@pytest.fixture(scope="session")
def embedded_db(tmp_path_factory) -> Path:
    """A database holding the embedded lists; never write to it (use `lists_db`)."""
    path = tmp_path_factory.mktemp("embedded") / "lists.duckdb"
    with Store(path) as store:
        ensure_embedded(store)
    return path


@pytest.fixture
def lists_db(embedded_db, tmp_path) -> Path:
    """A private copy of the embedded-lists database for one test."""
    path = tmp_path / "lists.duckdb"
    shutil.copyfile(embedded_db, path)
    return path


@pytest.fixture(scope="session")
def app_db(embedded_db, tmp_path_factory) -> Path:
    """A copy of the embedded-lists database shared by the Streamlit tests that only read it."""
    path = tmp_path_factory.mktemp("app") / "lists.duckdb"
    shutil.copyfile(embedded_db, path)
    return path


@pytest.fixture
def app_env(app_db, monkeypatch) -> Path:
    """Point the app at the shared test database (as $SCREENER_DB does for users)."""
    monkeypatch.setenv("SCREENER_DB", str(app_db))
    return app_db
