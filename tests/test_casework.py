"""The casework API: the one owner of the portfolio, run and decision tables, and what the shells may call."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from screener import casework
from screener.columns import ColumnMapping
from screener.screening import Screener
from screener.store import Store
from tests.test_workflow import NINESTAR, save, suppliers

REPO = Path(__file__).resolve().parent.parent
SHELLS = [*REPO.glob("screener/cli*.py"), *REPO.glob("screener/ui/*.py"), *REPO.glob("app_pages/*.py"), REPO / "app.py"]
CASEWORK_TABLES = ("portfolios", "portfolio_suppliers", "screening_runs", "run_suppliers", "run_matches",
                   "run_changes", "decisions")


def test_the_shells_write_no_sql():
    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b[^\n]*\b(FROM|INTO|SET)\b|\.query\(|\.scalar\(|\.con\b")
    assert [path.name for path in SHELLS if sql.search(path.read_text())] == []


def test_only_the_casework_package_queries_its_tables():
    outside = [path for path in REPO.glob("screener/**/*.py")
               if "casework" not in path.parts and path.name != "store.py"]  # store.py holds the migrations
    table = re.compile(rf"\b(FROM|JOIN|INTO|UPDATE)\s+({'|'.join(CASEWORK_TABLES)})\b")
    assert [path.name for path in outside if table.search(path.read_text())] == []


def test_dismissed_candidates_never_reach_the_rules_but_stay_in_the_result(lists_db):
    screener = Screener.from_db(lists_db)
    frame = suppliers("Ninestar Corporation")
    mapping = ColumnMapping(name="supplier_name", country="country")
    seen = []

    def dismiss_ninestar(candidates: pl.DataFrame) -> pl.DataFrame:
        seen.append(candidates.height)
        return candidates.with_columns(dismissed=pl.col("entity_id") == NINESTAR)

    plain = screener.screen(frame, mapping)
    reviewed = screener.screen(frame, mapping, review=dismiss_ninestar)
    assert plain.rows["risk_tier"][0] == "critical" and plain.rows["match_entity_id"][0] == NINESTAR
    assert reviewed.rows["match_entity_id"][0] != NINESTAR
    assert reviewed.rows["risk_tier"][0] not in ("critical", "high")
    assert NINESTAR in reviewed.candidates["entity_id"].to_list() and "dismissed" not in reviewed.candidates.columns
    assert seen == [plain.candidates.height]


def test_the_first_run_is_a_baseline_without_changes_or_alerts(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Quiet Meadow Textiles GmbH"))
    with Store(lists_db) as store:
        listed = casework.list_portfolios(store).row(0, named=True)
        runs = casework.portfolio_runs(store, "main")
        assert casework.run_changes(store, listed["last_run_id"]).is_empty()
    assert (listed["changes"], listed["new_alerts"], listed["flagged"], listed["undecided_matches"]) == (0, 0, 1, 1)
    assert runs.select("changes", "alerts").rows() == [(0, 0)]


def test_a_decision_shows_in_the_latest_run_at_once(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    with Store(lists_db) as store:
        assert casework.run_matches(store, "main").filter(pl.col("entity_id") == NINESTAR)["state"].to_list() == ["open"]
        casework.decide(store, "main", "Ninestar Corporation", NINESTAR, "false positive", "Other firm", "alice")
        matches = casework.run_matches(store, "main")
        listed = casework.list_portfolios(store).row(0, named=True)
    ninestar = matches.filter(pl.col("entity_id") == NINESTAR).row(0, named=True)
    assert ninestar["state"] == "dismissed" and ninestar["risk_tier"] == "critical"  # the tier changes on re-screen
    assert listed["undecided_matches"] == 0
