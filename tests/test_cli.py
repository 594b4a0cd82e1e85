"""The `screener` command as a user runs it: exit codes, one-line errors, reports on disk."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, get_origin

import polars as pl
import pytest
import typer
import xlsxwriter

from tests.conftest import EXAMPLE_SUPPLIERS


def screener(*args: str, db: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "screener", *args, *(["--db", str(db)] if db else [])]
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)


def test_screen_prints_tiers_top_flags_and_the_lists_used(lists_db):
    done = screener("screen", str(EXAMPLE_SUPPLIERS), db=lists_db)
    assert done.returncode == 0, done.stderr
    assert "45 suppliers screened" in done.stdout
    assert "Xinjiang Zhongtai" in done.stdout
    assert "Lists used: cbp_wro" in done.stdout and "uflpa #" in done.stdout


def test_summary_and_report_give_the_same_row_a_spreadsheet_shows(lists_db, tmp_path):
    book = tmp_path / "suppliers.xlsx"
    frame = pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False)
    with xlsxwriter.Workbook(str(book)) as workbook:
        sheet = workbook.add_worksheet("Tier 1")
        sheet.write(0, 0, "Approved suppliers")
        sheet.write_row(2, 0, frame.columns)
        for position, row in enumerate(frame.head(3).iter_rows()):
            sheet.write_row(3 + position, 0, row)
    done = screener("screen", str(book), db=lists_db)
    assert "Tier 1, row 4" in done.stdout and frame["supplier_name"][0] in done.stdout
    report = tmp_path / "report.csv"
    assert screener("screen", str(book), "--out", str(report), db=lists_db).returncode == 0
    first = pl.read_csv(report, infer_schema=False).row(0, named=True)
    assert (first["source_sheet"], first["source_row"]) == ("Tier 1", "4")


def test_screen_writes_the_contracted_json_with_every_row_and_its_snapshots(lists_db, tmp_path):
    report = tmp_path / "out" / "report.json"
    done = screener("screen", str(EXAMPLE_SUPPLIERS), "--out", str(report), "--format", "json", db=lists_db)
    assert done.returncode == 0, done.stderr
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert len(rows) == pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False).height
    for field in ("risk_tier", "risk_score", "match_name", "match_source", "match_list", "match_score", "reasons"):
        assert all(field in row for row in rows)
    zhongtai = next(row for row in rows if (row["supplier_name"] or "").startswith("Xinjiang Zhongtai"))
    assert zhongtai["risk_tier"] == "critical"
    assert any("UFLPA" in reason and "https://" in reason for reason in zhongtai["reasons"]), "reasons: a JSON array"
    best = zhongtai["matches"][0]
    assert best["source"] == "uflpa" and best["list"] == "UFLPA Entity List" and best["explanation"]
    facts = json.loads((tmp_path / "out" / "report.sources.json").read_text(encoding="utf-8"))
    assert {snapshot["source"] for snapshot in facts["metadata"]["snapshots"]} >= {"uflpa", "cbp_wro", "sanctions"}


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "html"])
def test_screen_writes_every_other_format(lists_db, tmp_path, suffix):
    report = tmp_path / f"report.{suffix}"
    done = screener("screen", str(EXAMPLE_SUPPLIERS), "--out", str(report), db=lists_db)
    assert done.returncode == 0, done.stderr
    assert report.stat().st_size > 0 and "Wrote 45 rows" in done.stderr


def test_database_location_comes_from_the_environment(lists_db):
    done = screener("sources", env={"SCREENER_DB": str(lists_db), "SCREENER_MAX_AGE_DAYS": "0"})
    assert done.returncode == 0, done.stderr
    for source in ("uflpa", "cbp_wro", "sanctions"):
        assert source in done.stdout
    assert "age (days)" in done.stdout and "warning: The uflpa list is" in done.stdout


def test_check_one_listed_entity_in_chinese_script_as_json(lists_db):
    done = screener("check", "新疆中泰化学股份有限公司", "--json", db=lists_db)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["risk_tier"] == "critical"
    top = verdict["matches"][0]
    assert top["source"] == "uflpa" and top["source_url"].startswith("http")
    assert "Zhongtai" in verdict["matches"][0]["explanation"] or "zhongtai" in top["explanation"].lower()


def test_check_an_unlisted_company_is_clear(lists_db):
    done = screener("check", "Nordic Timber Frames AB", "--country", "SE", "--json", db=lists_db)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["risk_tier"] in ("clear", "low")
    assert not [match for match in verdict["matches"] if match["band"] == "match"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["screen", "no/such/file.csv"], "no such file"),
        (["screen", str(EXAMPLE_SUPPLIERS), "--name-col", "Vendor"], "no column 'Vendor'"),
        (["screen", str(EXAMPLE_SUPPLIERS), "--rules", "no/such/rules.toml"], "rules.toml"),
    ],
)
def test_failures_are_one_line_errors_with_exit_2(lists_db, args, words):
    done = screener(*args, db=lists_db)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert words in lines[0]


def test_unknown_report_suffix_is_refused_before_screening(lists_db, tmp_path):
    done = screener("screen", str(EXAMPLE_SUPPLIERS), "--out", str(tmp_path / "report.docx"), db=lists_db)
    assert done.returncode == 2
    assert "supported formats are csv, json, parquet, xlsx, html" in done.stderr
    assert not (tmp_path / "report.docx").exists()


def test_doctor_passes_on_a_loaded_database_and_fails_on_a_broken_rule_file(lists_db, tmp_path):
    healthy = screener("doctor", "--max-age-days", "100000", db=lists_db)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "FAIL" not in healthy.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rule]\nid = ", encoding="utf-8")
    failing = screener("doctor", "--rules", str(broken), db=lists_db)
    assert failing.returncode == 1
    assert "FAIL rules" in failing.stdout and "broken.toml" in failing.stdout


def test_doctor_fails_on_lists_older_than_max_age_days_and_warns_past_the_configured_limit(lists_db):
    done = screener("doctor", "--max-age-days", "1", db=lists_db)
    assert done.returncode == 1
    assert "FAIL freshness" in done.stdout and "days old" in done.stdout and "screener ingest" in done.stdout
    warned = screener("doctor", db=lists_db, env={"SCREENER_MAX_AGE_DAYS": "1"})
    assert warned.returncode == 0 and "warn freshness" in warned.stdout
    assert screener("doctor", "--strict", db=lists_db, env={"SCREENER_MAX_AGE_DAYS": "1"}).returncode == 1
    bad = screener("doctor", db=lists_db, env={"SCREENER_MAX_AGE_DAYS": "ninety"})
    assert bad.returncode == 2 and "SCREENER_MAX_AGE_DAYS must be a whole number" in bad.stderr


def test_screen_and_check_say_how_old_each_list_is_and_how_to_refresh_it(lists_db):
    stale = {"SCREENER_MAX_AGE_DAYS": "0"}
    for args in (["screen", str(EXAMPLE_SUPPLIERS)], ["check", "Hoshine Silicon Industry"], ["check", "Nordic Timber AB"]):
        done = screener(*args, db=lists_db, env=stale)
        assert done.returncode == 0, done.stderr
        assert "Lists used: " in done.stdout and "days old)" in done.stdout
        assert "warning: The uflpa list is" in done.stdout and "run `screener ingest uflpa` to refresh it" in done.stdout
    fresh = screener("check", "Hoshine Silicon Industry", db=lists_db, env={"SCREENER_MAX_AGE_DAYS": "1000000"})
    assert "days old)" in fresh.stdout and "warning:" not in fresh.stdout


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_commands() -> list[list[str]]:
    """Every `screener ...` command line in the README's code blocks, split into words (comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("screener ")]


@pytest.mark.parametrize("words", readme_commands(), ids=lambda words: " ".join(words[:3]))
def test_every_readme_command_uses_options_the_command_has(words):
    command = [word for word in words[:2] if not word.startswith("-")]
    subcommand = command[:2] if command[0] in ("portfolio", "decisions", "keys", "jobs") else command[:1]
    helped = screener(*subcommand, "--help")
    assert helped.returncode == 0, helped.stderr
    for option in (word for word in words if word.startswith("-")):
        assert option in helped.stdout, f"`screener {' '.join(words)}`: {option} is not an option of {subcommand}"


@pytest.mark.parametrize("group", [(), ("portfolio",), ("decisions",), ("keys",), ("jobs",)])
def test_a_bare_command_group_prints_its_help_and_succeeds(group):
    done = screener(*group)
    assert done.returncode == 0 and re.search(rf"Usage: .*screener {' '.join(group)}".rstrip(), done.stdout)
    assert "error" not in done.stdout + done.stderr


def test_version_and_short_help():
    from screener import __version__

    version = screener("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"screener {__version__}"
    short = screener("check", "-h")
    assert short.returncode == 0 and re.search(r"Usage: .*screener check", short.stdout)
    assert "<bool>" not in short.stdout and "--as-of YYYY-MM-DD" in short.stdout and "--json " in short.stdout


def every_command() -> list[list[str]]:
    """The words of every leaf command of the CLI, e.g. ["portfolio", "add"]."""
    import typer

    from screener.cli import app

    def leaves(command: Any, words: list[str]) -> list[list[str]]:
        if hasattr(command, "commands"):  # a group (typer's own copy of click's)
            return [leaf for name, sub in command.commands.items() for leaf in leaves(sub, [*words, name])]
        return [words]

    return leaves(typer.main.get_command(app), [])


@pytest.mark.parametrize("words", every_command(), ids=" ".join)
def test_every_option_and_argument_names_what_it_takes(words):
    """Help shows `NAME`, `--db FILE`, `--name-col COLUMN`: never a bare Python type such as <str> or <float range>."""
    from typer.testing import CliRunner

    from screener.cli import app

    helped = CliRunner().invoke(app, [*words, "--help"], terminal_width=200)
    assert helped.exit_code == 0, helped.output
    arguments, options = helped.output.split("Options:", 1)
    assert not re.findall(r"--[\w-]+ <[^>]+>", options), options
    assert not re.findall(r"<[^>]+>", arguments.partition("Arguments:")[2]), arguments


HEAVY = ("pypinyin", "httpx", "fpdf", "openpyxl", "xlsxwriter", "jinja2", "pyarrow", "pyspark", "fastapi", "uvicorn",
         "streamlit", "charset_normalizer")
"""Libraries a check of a Latin-script name does not need: transliteration, fetching, reports, Spark, the service, the UI,
guessing a file's text encoding."""


def loaded_by(*words: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """Every module a fresh `screener WORDS` process held when it exited (empty WORDS: only `import screener.cli`),
    and how the run ended."""
    listing = "import atexit, sys; atexit.register(lambda: print(*sys.modules, file=sys.stderr))"
    run = "from screener.cli import main; main()" if words else "import screener.cli"
    done = subprocess.run([sys.executable, "-c", f"{listing}; {run}", *words], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)
    return set(done.stderr.splitlines()[-1].split()), done


def test_importing_the_cli_loads_no_command_and_no_data_library():
    loaded, done = loaded_by()
    assert done.returncode == 0, done.stderr[-2000:]
    heavy = {module.split(".")[0] for module in loaded} & {*HEAVY, "polars", "duckdb", "numpy", "pydantic"}
    assert not heavy, heavy
    assert {module for module in loaded if module.startswith("screener.")} <= {
        "screener.cli", "screener.cli_options", "screener.console", "screener.errors", "screener.settings", "screener.text"}


def test_a_check_loads_only_the_checking_code(lists_db):
    check = ("check", "Hoshine Silicon Industry", "--country", "CN", "--db", str(lists_db))
    assert loaded_by(*check)[1].returncode == 0  # the first check keeps the lists and the index the next ones read
    loaded, done = loaded_by(*check)
    assert done.returncode == 0 and "Hoshine" in done.stdout, done.stderr[-2000:]
    heavy = {module.split(".")[0] for module in loaded} & {*HEAVY, "duckdb", "pydantic"}
    assert not heavy, heavy
    commands = {module for module in loaded if module.startswith("screener.cli_")}
    assert commands == {"screener.cli_options", "screener.cli_check"}, commands
    assert not [module for module in loaded if module.startswith(
        ("screener.casework", "screener.service", "screener.ingest", "screener.reports"))]
    assert not [module for module in loaded if module.startswith("sources.") and module != "sources.registry"]


def test_a_command_module_is_imported_without_collecting_garbage_and_kept_out_of_later_collections():
    script = (
        "import gc; from screener.cli import imported; collections = []; "
        "gc.callbacks.append(lambda phase, info: collections.append(phase)); imported('screener.cli_check'); "
        "print(len(collections), gc.isenabled(), gc.get_freeze_count() > 0)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["0", "True", "True"], done.stderr[-2000:]


def test_the_source_names_known_without_their_modules_are_those_of_the_modules():
    from sources.registry import SOURCE_NAMES, SOURCES

    assert SOURCE_NAMES == tuple(SOURCES) == tuple(source.name for source in SOURCES.values())


@pytest.mark.parametrize(("variable", "asked", "kept"), [
    ("OPENBLAS_NUM_THREADS", None, "1"),
    ("OPENBLAS_NUM_THREADS", "2", "2"),
    ("_RJEM_MALLOC_CONF", None, "dirty_decay_ms:10000,muzzy_decay_ms:10000"),
    ("_RJEM_MALLOC_CONF", "abort:false", "abort:false"),
])
def test_the_cli_sets_native_libraries_up_before_they_load_unless_the_user_did(variable, asked, kept):
    """numpy's OpenBLAS starts one thread, not one per core (the screener does no linear algebra); polars' allocator
    keeps freed pages for reuse a while. A user's own setting stands."""
    environment = {key: value for key, value in os.environ.items() if key != variable}
    seen = f"import atexit, os, sys; atexit.register(lambda: print(os.environ.get({variable!r}), file=sys.stderr))"
    done = subprocess.run([sys.executable, "-c", f"{seen}; from screener.cli import main; main()", "--version"],
                          capture_output=True, text=True, timeout=60,
                          env={**environment, **({variable: asked} if asked else {})})
    assert done.returncode == 0 and done.stderr.split()[-1] == kept, done.stderr


@pytest.mark.parametrize(("annotation", "written"), [
    *((float, number) for number in ("85", "+5", "-1.5", ".5", "5.", "1e3", "1E-2", " 85", "1_0", "inf", "0x10", "٣", "")),
    *((int, number) for number in ("7", "007", "+5", "-3", " 4", "1.0", "٣", "x")),
    *((Path, path) for path in ("", "report.pdf", "~/lists/s.duckdb")),
    (str, ""), (str, "Xinjiang Zhongtai 新疆中泰"), (list[Path], ("a.toml", "b.toml")), (list[float], ("1", "x")),
])
def test_values_read_without_pydantic_read_as_typer_reads_them(annotation, written):
    """An option's value reads to the same value (or the same error) as through the pydantic model typer builds."""
    from typer._click import Context
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param, resolve_type_descriptor
    from typer.models import OptionInfo

    from screener.cli_options import PlainValues

    descriptor = resolve_type_descriptor(annotation, OptionInfo())
    option = typer.core.TyperOption(param_decls=["--value"], multiple=get_origin(annotation) is list,
                                    type_descriptor=descriptor)
    context = Context(typer.core.TyperCommand("check"))

    def read(runtime: Any) -> tuple[str, Any]:
        try:
            return "value", runtime.coerce(written, param=option, ctx=context)
        except BadParameter as error:
            return "error", error.format_message()

    plain = PlainValues(annotation=annotation, parameter_info=descriptor.parameter_info, descriptor=descriptor)
    assert read(plain) == read(build_runtime_param(descriptor))


@pytest.mark.parametrize("written", ["2024/06/30", "30.06.2024", "2024-13-01", "yesterday"])
def test_a_date_the_cli_cannot_read_is_refused_in_words(written):
    done = screener("check", "Nordic Timber AB", "--as-of", written)
    assert done.returncode == 2
    assert f"'{written}' is not a date: write it as year-month-day, YYYY-MM-DD (e.g. 2024-06-30)" in done.stderr


def test_the_progress_line_moves_on_to_writing_the_report_instead_of_sitting_at_full():
    from rich.progress import Progress

    from screener.cli_screen import Stages

    with Progress(transient=True) as progress:
        stages = Stages(progress, "Screening")
        stages.advance(45, 45)
        assert progress.tasks[0].finished
        stages.stage("Writing report.xlsx")
        shown = [task for task in progress.tasks if task.visible]
        assert [task.description for task in shown] == ["Writing report.xlsx"]
        assert shown[0].total is None and not shown[0].finished


def test_as_of_screens_against_the_listings_in_force_then_and_says_so(lists_db, tmp_path):
    done = screener("screen", str(EXAMPLE_SUPPLIERS), "--as-of", "2024-06-30", db=lists_db)
    assert done.returncode == 0, done.stderr
    assert "Screened against the listings in force on 2024-06-30" in done.stdout
    for source in ("cbp_wro", "sanctions", "uflpa"):
        assert f"{source} " in done.stdout.split("Screened against", 1)[1]
    then = json.loads(screener("check", "Top Glove Corporation Bhd", "--as-of", "2021-06-30", "--json", db=lists_db).stdout)
    now = json.loads(screener("check", "Top Glove Corporation Bhd", "--json", db=lists_db).stdout)
    assert (then["risk_tier"], now["risk_tier"]) == ("high", "low")
    assert then["metadata"]["as_of"] == "2021-06-30" and "in force on 2021-06-30" in then["metadata"]["as_of_basis"]
    before_uflpa = screener("check", "TBEA Co., Ltd.", "--as-of", "2026-08-02", "--json", db=lists_db)
    assert json.loads(before_uflpa.stdout)["risk_tier"] != "critical"
    report = tmp_path / "then.csv"
    assert screener("screen", str(EXAMPLE_SUPPLIERS), "--as-of", "2024-06-30", "--out", str(report), db=lists_db).returncode == 0
    sources = pl.read_csv(tmp_path / "then.sources.csv", infer_schema=False)
    assert sources["entities_in_force"].cast(int).min() > 0 and "in force on 2024-06-30" in sources["lists_as_of"][0]
