"""One error hierarchy: what a user can fix is a ScreenerError shown in one line; anything else surfaces as a bug."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import screener
import sources
from screener import cli
from screener.errors import ScreenerError


def product_modules():
    for package in (screener, sources):
        for found in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".ui." not in found.name and not found.name.endswith("__main__"):  # pages need Streamlit; __main__ runs
                yield importlib.import_module(found.name)


def test_every_error_class_of_the_library_is_a_screener_error():
    errors = {
        f"{module.__name__}.{name}": cls
        for module in product_modules()
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == module.__name__
    }
    assert len(errors) >= 15
    assert [name for name, cls in errors.items() if not issubclass(cls, ScreenerError)] == []


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screener", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def test_a_user_error_is_one_line_and_exit_2(tmp_path):
    done = run_cli("screen", str(tmp_path / "missing.csv"), "--db", str(tmp_path / "db.duckdb"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'missing.csv'}: no such file"


@pytest.fixture
def failing_command():
    """A command with a programming error, added to the real CLI for one test."""
    def broken() -> None:
        {}["missing"]

    cli.app.command("broken")(broken)
    yield
    cli.app.registered_commands.pop()


def test_a_programming_error_surfaces_as_a_bug_not_as_a_user_error(failing_command, monkeypatch, capsys):
    monkeypatch.delenv("SCREENER_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["screener", "broken"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == cli.BUG_EXIT
    shown = capsys.readouterr().err
    assert shown.startswith("bug: KeyError: 'missing'") and "SCREENER_DEBUG=1" in shown and "Traceback" not in shown


def test_screener_debug_shows_the_traceback(failing_command, monkeypatch):
    monkeypatch.setenv("SCREENER_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["screener", "broken"])
    with pytest.raises(KeyError):
        cli.main()


def test_a_screener_error_raised_anywhere_reaches_the_user_as_its_first_line(monkeypatch, capsys):
    def refused() -> None:
        raise ScreenerError("the list cannot be read\nsecond line")

    cli.app.command("refused")(refused)
    try:
        monkeypatch.setattr(sys, "argv", ["screener", "refused"])
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        cli.app.registered_commands.pop()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == "error: the list cannot be read"


def test_the_spark_engine_without_pyspark_says_what_to_install(monkeypatch):
    """`--engine spark` on an install without the spark extra is a one-line usage error, not a bug report."""
    from screener.errors import UsageError
    from screener.spark import spark_session

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match=r"pip install 'xuar-screener\[spark\]'"):
        spark_session("local[1]")
