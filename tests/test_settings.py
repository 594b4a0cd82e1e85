"""One settings module reads every environment variable; each is documented, typed and refused in one line when bad."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from screener import settings
from screener.errors import ScreenerError, SettingError
from screener.paths import default_db_path
from screener.store import Store

REPO = Path(__file__).resolve().parent.parent
PRODUCT_CODE = [*sorted((REPO / "screener").rglob("*.py")), *sorted((REPO / "sources").rglob("*.py")),
                REPO / "app.py", *sorted((REPO / "app_pages").glob("*.py"))]


def reads_environment(tree: ast.AST) -> bool:
    """True when the code reads os.environ or os.getenv."""
    return any(
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
        and node.attr in ("environ", "getenv")
        for node in ast.walk(tree)
    )


def test_only_the_settings_module_reads_the_environment():
    readers = [path.relative_to(REPO).as_posix() for path in PRODUCT_CODE if reads_environment(ast.parse(path.read_text()))]
    assert readers == ["screener/settings.py"]


def test_every_variable_the_code_names_is_a_documented_setting_in_the_readme():
    named = set()
    for path in PRODUCT_CODE:
        named |= set(re.findall(r"\bSCREENER_[A-Z_]*[A-Z]\b", path.read_text()))
    declared = {setting.name for setting in settings.SETTINGS}
    assert named <= declared
    readme = (REPO / "README.md").read_text()
    for setting in settings.SETTINGS:
        assert setting.doc.strip() and f"`{setting.name}`" in readme, setting.name


def test_a_setting_is_read_when_used_and_empty_means_the_default(monkeypatch):
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "")
    assert settings.LOCK_TIMEOUT.value() == 30.0
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "2.5")
    assert settings.LOCK_TIMEOUT.value() == 2.5
    monkeypatch.setenv("SCREENER_DEBUG", "off")
    assert settings.DEBUG.value() is False
    monkeypatch.setenv("SCREENER_DEBUG", "1")
    assert settings.DEBUG.value() is True


def test_the_database_setting_is_the_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("SCREENER_DB", str(tmp_path / "lists.duckdb"))
    assert default_db_path() == tmp_path / "lists.duckdb"
    assert default_db_path(tmp_path / "other.duckdb") == tmp_path / "other.duckdb"


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SCREENER_LOCK_TIMEOUT", "soon", "must be a number of seconds, not 'soon'"),
    ("SCREENER_LOCK_TIMEOUT", "-1", "must be zero or more seconds"),
    ("SCREENER_MAX_AGE_DAYS", "ninety", "must be a whole number of days, not 'ninety'"),
])
def test_an_unusable_value_is_refused_naming_the_variable(monkeypatch, tmp_path, name, value, says):
    monkeypatch.setenv(name, value)
    setting = next(setting for setting in settings.SETTINGS if setting.name == name)
    with pytest.raises(SettingError, match=rf"^\${name} {says}.*unset it to use the default") as raised:
        setting.value()
    assert isinstance(raised.value, ScreenerError)


def test_a_bad_lock_timeout_is_refused_when_the_database_opens(monkeypatch, tmp_path):
    monkeypatch.setenv("SCREENER_LOCK_TIMEOUT", "soon")
    with pytest.raises(SettingError, match="SCREENER_LOCK_TIMEOUT"):
        Store(tmp_path / "db.duckdb").close()


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    declared = {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
                for requirement in requirements}
    distributions = packages_distributions()
    first_party = {"screener", "sources", "app_pages"}
    missing = set()
    for path in PRODUCT_CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                       else [])
            for module in modules:
                top = module.split(".")[0]
                if top in first_party or top not in distributions:  # the standard library has no distribution
                    continue
                if not {name.lower().replace("_", "-") for name in distributions[top]} & declared:
                    missing.add(f"{top} ({path.relative_to(REPO)})")
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
