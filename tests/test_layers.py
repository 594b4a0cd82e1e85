"""Package boundaries: the sources know only a small interface of the library; nothing else reaches into them."""

from __future__ import annotations

import ast
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
