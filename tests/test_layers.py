"""Package boundaries: the sources know only a small interface of the library; nothing else reaches into them."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What a source may use of the library: the canonical frames and the error base class (and the version string).
SOURCE_INTERFACE = {"screener", "screener.schema", "screener.errors"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def test_the_sources_use_only_the_small_library_interface():
    used = {module for path in REPO.glob("sources/*.py") for module in imported_modules(path)
            if module.startswith("screener")}
    assert {module for module in used if module not in SOURCE_INTERFACE and module.rsplit(".", 1)[0]
            not in SOURCE_INTERFACE} == set()


def test_no_module_outside_the_sources_imports_a_private_one():
    code = [*REPO.glob("screener/**/*.py"), *REPO.glob("app_pages/*.py"), REPO / "app.py",
            *REPO.glob("tests/*.py"), *REPO.glob("benchmarks/*.py")]
    private = {
        f"{path.relative_to(REPO)}: {module}"
        for path in code for module in imported_modules(path)
        if module.startswith("sources.") and any(part.startswith("_") for part in module.split(".")[1:2])
    }
    assert private == set()


SHELLS = ["screener/service/**/*.py", "screener/cli*.py", "screener/ui/**/*.py", "app.py", "app_pages/*.py"]
SQL_STATEMENT = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|VIEW|INDEX)"
    r"|ALTER\s+TABLE|DROP\s+TABLE|BEGIN\s+(IMMEDIATE|TRANSACTION))\b",
    re.DOTALL,
)
DATABASE_DRIVERS = {"duckdb", "sqlite3"}


def sql_in(path: Path) -> list[str]:
    """Where a module holds SQL: a string that reads as an SQL statement, or an import of a database driver."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_STATEMENT.search(node.value):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value.strip()[:60]!r}")
    found += [f"{path.relative_to(REPO)}: imports {module}" for module in imported_modules(path)
              if module.split(".")[0] in DATABASE_DRIVERS]
    return found


def test_the_shells_write_no_sql():
    """The CLI, the web app and the service are thin shells over the library: each table has one owner module."""
    shells = sorted({path for pattern in SHELLS for path in REPO.glob(pattern)})
    assert len(shells) > 20
    assert [place for path in shells for place in sql_in(path)] == []


def test_the_sql_finder_finds_statements_and_drivers(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    module = tmp_path / "shell.py"
    module.write_text('import sqlite3\nQ = """UPDATE jobs\n SET status = 1"""\nHELP = "Select the column from the file"\n')
    assert sql_in(module) == ["shell.py:2: 'UPDATE jobs\\n SET status = 1'", "shell.py: imports sqlite3"]
