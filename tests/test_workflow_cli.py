"""The workflow commands as a user runs them: portfolio, decide, decisions, monitor, and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from screener.casework import DecisionError, MonitorError, PortfolioError
from screener.cli_workflow import decide_command, decisions_app, monitor_command, portfolio_app
from tests.test_workflow import NINESTAR, add_entity, new_uflpa_snapshot

app = typer.Typer()
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(decisions_app, name="decisions")
app.command("decide")(decide_command)
app.command("monitor")(monitor_command)


def run(*args: str, db: Path) -> object:
    return CliRunner().invoke(app, [*args, "--db", str(db)], env={"COLUMNS": "250"})


@pytest.fixture
def supplier_file(tmp_path) -> Path:
    path = tmp_path / "suppliers.csv"
    path.write_text("supplier_id,supplier_name,country\nS-1,Ninestar Corporation,CN\n"
                    "S-2,Quiet Meadow Textiles GmbH,DE\n", encoding="utf-8")
    return path


def test_portfolio_decision_report_and_import_round_trip(lists_db, supplier_file, tmp_path):
    added = run("portfolio", "add", "main", str(supplier_file), db=lists_db)
    assert added.exit_code == 0, added.output
    assert "Saved portfolio 'main': 2 suppliers" in added.output and "1 critical" in added.output
    assert "main" in run("portfolio", "list", db=lists_db).output
    assert NINESTAR in run("portfolio", "show", "main", db=lists_db).output

    decided = run("decide", "main", "Ninestar Corporation", NINESTAR, "-d", "false-positive", "-c", "Not them",
                  "--analyst", "alice", db=lists_db)
    assert decided.exit_code == 0, decided.output
    assert "Recorded decision #1: false_positive" in decided.output

    report = tmp_path / "report.csv"
    screened = run("portfolio", "screen", "main", "--out", str(report), db=lists_db)
    assert screened.exit_code == 0, screened.output
    assert "1 dismissed" in screened.output and "tier change" in screened.output
    rows = pl.read_csv(report, infer_schema=False)
    assert rows.filter(pl.col("supplier_name") == "Ninestar Corporation")["risk_tier"].to_list() == ["low"]
    audit = pl.read_csv(tmp_path / "report.decisions.csv")
    assert audit.select("analyst", "decision", "comment").rows() == [("alice", "false_positive", "Not them")]

    reviewed = tmp_path / "reviewed.csv"
    rows.with_columns(decision=pl.Series(["escalated", ""]), match_entity_id=pl.Series([NINESTAR, None])).write_csv(
        reviewed)
    imported = run("decisions", "import", "main", str(reviewed), "--analyst", "bob", db=lists_db)
    assert imported.exit_code == 1 and isinstance(imported.exception, DecisionError)
    assert "no comment on line 2" in str(imported.exception)
    pl.read_csv(reviewed, infer_schema=False).with_columns(comment=pl.Series(["Ask legal", ""])).write_csv(reviewed)
    imported = run("decisions", "import", "main", str(reviewed), "--analyst", "bob", db=lists_db)
    assert imported.exit_code == 0, imported.output
    assert "Recorded 1 decisions" in imported.output

    export = tmp_path / "log.xlsx"
    assert run("decisions", "export", "--out", str(export), db=lists_db).exit_code == 0
    assert pl.read_excel(export)["decision"].to_list() == ["false_positive", "escalated"]


def test_monitor_exits_3_only_when_something_new_needs_attention(lists_db, supplier_file, tmp_path):
    run("portfolio", "add", "main", str(supplier_file), db=lists_db)
    quiet = run("monitor", db=lists_db)
    assert quiet.exit_code == 0, quiet.output
    assert "nothing changed" in quiet.output

    new_uflpa_snapshot(lists_db, add_entity("Quiet Meadow Textiles GmbH"))
    digest = tmp_path / "digest.json"
    alert = run("monitor", "--out", str(digest), "--out", str(tmp_path / "digest.html"), db=lists_db)
    assert alert.exit_code == 3, alert.output
    assert "Quiet Meadow Textiles GmbH" in alert.output and "new hit" in alert.output
    assert json.loads(digest.read_text(encoding="utf-8"))["attention"] == 2
    assert (tmp_path / "digest.html").is_file()
    assert run("monitor", db=lists_db).exit_code == 0


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("portfolio", "screen", "nope"), PortfolioError, "no portfolio named 'nope'"),
        (("decide", "main", "Ninestar Corporation", NINESTAR, "-d", "maybe", "-c", "x"), DecisionError,
         "unknown decision 'maybe'"),
        (("decisions", "export", "--out", "log.txt"), DecisionError, "name it .csv or .xlsx"),
    ],
)
def test_mistakes_are_one_line_errors(lists_db, supplier_file, args, error, words):
    run("portfolio", "add", "main", str(supplier_file), db=lists_db)
    done = run(*args, db=lists_db)
    assert isinstance(done.exception, error), done.output
    assert words in str(done.exception) and "\n" not in str(done.exception)


def test_monitor_without_portfolios_says_how_to_add_one(lists_db):
    done = run("monitor", db=lists_db)
    assert isinstance(done.exception, MonitorError) and "screener portfolio add" in str(done.exception)
