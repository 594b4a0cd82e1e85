"""Portfolios, analyst decisions and monitoring, against real DuckDB files and the embedded lists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from screener import casework
from screener.casework import (
    PortfolioError,
    add_portfolio,
    list_portfolios,
    load_portfolio,
    run_monitor,
    screen_portfolio,
    write_digest,
)
from screener.casework.portfolios import supplier_keys
from screener.columns import ColumnMapping
from screener.schema import entity_id
from screener.screening import Screener
from screener.store import SnapshotMeta, Store
from tests.conftest import EXAMPLE_SUPPLIERS

MAPPING = ColumnMapping(name="supplier_name", country="country")
NINESTAR = "uflpa:c83e118fc79a"


def suppliers(*names: str, country: str = "CN") -> pl.DataFrame:
    return pl.DataFrame({
        "supplier_id": [f"S-{i}" for i in range(len(names))],
        "supplier_name": list(names),
        "country": [country] * len(names),
    })


def save(db: Path, name: str, frame: pl.DataFrame) -> None:
    with Store(db) as store:
        add_portfolio(store, name, frame, MAPPING, source_file=f"{name}.csv")
    screen_portfolio(db, name, Screener.from_db(db), trigger="add")


def rescreen(db: Path, name: str):
    return screen_portfolio(db, name, Screener.from_db(db))


def new_uflpa_snapshot(db: Path, change) -> int:
    """Store a newer UFLPA snapshot made by `change(entities, names)` from the current one."""
    with Store(db) as store:
        current = store.current_snapshots().filter(pl.col("source") == "uflpa").row(0, named=True)
        lists = store.read_lists([current["snapshot_id"]])
        entities, names = change(lists.entities.drop("snapshot_id"), lists.names.drop("snapshot_id", "norm"))
        meta = SnapshotMeta(source="uflpa", title=current["title"], as_of=dt.date(2026, 11, 1), url=current["url"],
                            sha256="f" * 64, origin="ingest")
        return store.add_snapshot(meta, entities, names)


def add_entity(name: str):
    def change(entities: pl.DataFrame, names: pl.DataFrame):
        new_id = entity_id("uflpa", name)
        entity = entities.head(1).with_columns(entity_id=pl.lit(new_id), name=pl.lit(name),
                                               start_date=pl.lit(dt.date(2026, 10, 30)))
        return pl.concat([entities, entity]), pl.concat([names, pl.DataFrame(
            {"entity_id": [new_id], "name": [name], "kind": ["primary"], "lang": ["en"]})])
    return change


def relist(target: str):
    def change(entities: pl.DataFrame, names: pl.DataFrame):
        listed = pl.col("entity_id") == target
        return entities.with_columns(
            start_date=pl.when(listed).then(pl.lit(dt.date(2026, 10, 30))).otherwise(pl.col("start_date")),
            citation=pl.when(listed).then(pl.lit("Federal Register 2026-99999")).otherwise(pl.col("citation")),
        ), names
    return change


def remove(target: str):
    def change(entities: pl.DataFrame, names: pl.DataFrame):
        return entities.filter(pl.col("entity_id") != target), names.filter(pl.col("entity_id") != target)
    return change


def row_of(run, supplier: str) -> dict:
    return run.result.rows.filter(pl.col("supplier_name") == supplier).row(0, named=True)


def dismiss_all(db: Path, portfolio: str, supplier: str, run) -> None:
    row = row_of(run, supplier)["row"]
    with Store(db) as store:
        for match in run.result.candidates.filter(pl.col("row") == row).iter_rows(named=True):
            casework.decide(store, portfolio, supplier, match["entity_id"], "false positive",
                             "Different company: ours is a small firm in Ohio", "alice")


# Portfolios


def test_supplier_keys_follow_the_supplier_not_its_position_and_tell_repeats_apart():
    first = suppliers("Ninestar Corporation", "Acme  Widgets", "Acme Widgets")
    moved = suppliers("acme widgets", "Other Co", "NINESTAR CORPORATION")
    keys = supplier_keys(first, MAPPING)["supplier_key"].to_list()
    moved_keys = supplier_keys(moved, MAPPING)["supplier_key"].to_list()
    assert moved_keys[2] == keys[0] and moved_keys[0] == keys[1]
    assert len(set(keys)) == 3
    assert supplier_keys(suppliers("Acme Widgets", country="US"), MAPPING)["supplier_key"][0] != keys[1]


def test_portfolio_round_trips_every_cell_and_refuses_a_duplicate_name(tmp_path):
    frame = pl.DataFrame({"supplier_name": ["新疆中泰化学股份有限公司", "Quote \"and\" comma, Ltd"],
                          "country": ["CN", None], "notes": ["", "x"]})
    with Store(tmp_path / "db.duckdb") as store:
        add_portfolio(store, "Tier 1", frame, MAPPING, source_file="t1.csv")
        loaded = load_portfolio(store, "Tier 1")
        with pytest.raises(PortfolioError, match="already exists; use --replace"):
            add_portfolio(store, "Tier 1", frame, MAPPING)
        add_portfolio(store, "Tier 1", frame.head(1), MAPPING, replace=True)
        replaced = load_portfolio(store, "Tier 1")
        with pytest.raises(PortfolioError, match="no portfolio named 'Tier 2'"):
            load_portfolio(store, "Tier 2")
    assert loaded.frame.equals(frame)
    assert loaded.mapping == MAPPING and loaded.source_file == "t1.csv"
    assert replaced.frame.height == 1


def test_listing_shows_the_last_run_and_its_flagged_suppliers(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Quiet Meadow Textiles GmbH"))
    rescreen(lists_db, "main")
    with Store(lists_db) as store:
        listed = list_portfolios(store).row(0, named=True)
    assert listed["name"] == "main" and listed["suppliers"] == 2 and listed["runs"] == 2
    assert listed["flagged"] == 1 and listed["undecided_matches"] == 1


# Decisions


def test_false_positive_is_dismissed_in_later_screenings_and_leaves_the_tier(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Xinjiang Zhongtai Chemical Co., Ltd."))
    first = rescreen(lists_db, "main")
    assert row_of(first, "Ninestar Corporation")["risk_tier"] == "critical"
    dismiss_all(lists_db, "main", "Ninestar Corporation", first)

    for _ in range(2):
        later = rescreen(lists_db, "main")
        ninestar = row_of(later, "Ninestar Corporation")
        assert ninestar["risk_tier"] not in ("critical", "high")
        assert ninestar["match_name"] is None and ninestar["dismissed_matches"] == 1
        dismissal = next(reason for reason in ninestar["reasons"] if reason.startswith("Dismissed as false positive"))
        assert "Ninestar Corporation" in dismissal and "by alice" in dismissal
        assert later.result.candidates.filter(pl.col("entity_id") == NINESTAR)["decision_state"].to_list() == ["dismissed"]
        assert row_of(later, "Xinjiang Zhongtai Chemical Co., Ltd.")["risk_tier"] == "critical"


def test_confirmed_and_escalated_matches_stay_flagged(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Xinjiang Zhongtai Chemical Co., Ltd."))
    first = rescreen(lists_db, "main")
    zhongtai = first.result.candidates.filter(pl.col("row") == 1)["entity_id"].to_list()
    with Store(lists_db) as store:
        casework.decide(store, "main", "Ninestar Corporation", NINESTAR, "confirmed", "Same USCC", "bob")
        casework.decide(store, "main", "Xinjiang Zhongtai Chemical Co., Ltd.", zhongtai[0], "escalate",
                         "Legal to review", "bob")
    later = rescreen(lists_db, "main")
    assert [row["risk_tier"] for row in later.result.rows.iter_rows(named=True)] == ["critical", "critical"]
    states = dict(later.result.candidates.select("entity_id", "decision_state").iter_rows())
    assert states[NINESTAR] == "confirmed" and states[zhongtai[0]] == "escalated"


def test_relisting_reopens_a_false_positive(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    dismiss_all(lists_db, "main", "Ninestar Corporation", rescreen(lists_db, "main"))
    assert row_of(rescreen(lists_db, "main"), "Ninestar Corporation")["risk_tier"] == "low"

    new_uflpa_snapshot(lists_db, relist(NINESTAR))
    after = rescreen(lists_db, "main")
    ninestar = row_of(after, "Ninestar Corporation")
    assert ninestar["risk_tier"] == "critical" and ninestar["match_entity_id"] == NINESTAR
    assert any(reason.startswith("Reopened: the listing of Ninestar Corporation") for reason in ninestar["reasons"])
    changes = after.changes.filter(pl.col("change") == "listing_changed").row(0, named=True)
    assert changes["entity_id"] == NINESTAR and "false-positive decision no longer applies" in changes["detail"]
    assert "uflpa list: snapshot" in changes["cause"] and "2026-11-01" in changes["cause"]


def test_a_new_alias_on_the_listing_also_reopens_the_decision(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    dismiss_all(lists_db, "main", "Ninestar Corporation", rescreen(lists_db, "main"))
    new_uflpa_snapshot(lists_db, lambda entities, names: (entities, pl.concat([names, pl.DataFrame(
        {"entity_id": [NINESTAR], "name": ["Ninestar Holdings"], "kind": ["alias"], "lang": ["en"]})])))
    states = rescreen(lists_db, "main").result.candidates["decision_state"].to_list()
    assert states == ["reopened"]


def test_audit_log_keeps_every_decision_ever_made(lists_db, tmp_path):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    rescreen(lists_db, "main")
    with Store(lists_db) as store:
        for decision, analyst in (("false positive", "alice"), ("escalated", "bob"), ("confirmed", "carol")):
            casework.decide(store, "main", "Ninestar Corporation", NINESTAR, decision, f"{analyst}'s view", analyst)
        log = casework.audit_log(store)
        csv_rows = casework.export_audit_log(store, tmp_path / "audit.csv")
        xlsx_rows = casework.export_audit_log(store, tmp_path / "audit.xlsx", portfolio="main")
    assert log["decision"].to_list() == ["false_positive", "escalated", "confirmed"]
    assert log["analyst"].to_list() == ["alice", "bob", "carol"]
    assert log["in_force"].to_list() == [False, False, True]
    assert log["decided_at"].is_not_null().all() and log["evidence"].str.len_chars().min() == 32
    assert csv_rows == xlsx_rows == 3
    exported = pl.read_csv(tmp_path / "audit.csv")
    assert exported["comment"].to_list() == ["alice's view", "bob's view", "carol's view"]
    assert pl.read_excel(tmp_path / "audit.xlsx")["decision_id"].to_list() == log["decision_id"].to_list()
    assert row_of(rescreen(lists_db, "main"), "Ninestar Corporation")["risk_tier"] == "critical"


def test_a_decision_needs_a_known_word_a_comment_and_a_current_match(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Quiet Meadow Textiles GmbH"))
    with Store(lists_db) as store:
        with pytest.raises(casework.DecisionError, match="unknown decision 'maybe'"):
            casework.decide(store, "main", "Ninestar Corporation", NINESTAR, "maybe", "hm", "alice")
        with pytest.raises(casework.DecisionError, match="no comment"):
            casework.decide(store, "main", "Ninestar Corporation", NINESTAR, "confirmed", "  ", "alice")
        with pytest.raises(casework.DecisionError, match="not a candidate in the latest screening"):
            casework.decide(store, "main", "Quiet Meadow Textiles GmbH", NINESTAR, "confirmed", "x", "alice")
        with pytest.raises(casework.DecisionError, match="no supplier 'Nobody'"):
            casework.decide(store, "main", "Nobody", NINESTAR, "confirmed", "x", "alice")
        assert casework.audit_log(store).is_empty()


def test_bulk_import_from_a_reviewed_report_is_validated_and_all_or_none(lists_db, tmp_path):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Xinjiang Zhongtai Chemical Co., Ltd.", "Quiet Meadow"))
    rows = rescreen(lists_db, "main").result.rows.select("supplier_name", "supplier_key", "match_entity_id")
    reviewed = rows.with_columns(decision=pl.Series(["False positive", "confirmed", ""]),
                                 comment=pl.Series(["not them", "same address", ""]))
    bad = reviewed.with_columns(decision=pl.Series(["False positive", "probably", ""]))
    with Store(lists_db) as store:
        with pytest.raises(casework.DecisionError, match="unknown decision on line 3"):
            casework.import_decisions(store, "main", bad, "dana", origin="import:bad.csv")
        assert casework.audit_log(store).is_empty()
        ids = casework.import_decisions(store, "main", reviewed, "dana", origin="import:reviewed.csv")
        log = casework.audit_log(store)
    assert len(ids) == 2
    assert log.select("decision", "analyst", "origin").rows() == [
        ("false_positive", "dana", "import:reviewed.csv"), ("confirmed", "dana", "import:reviewed.csv")]
    assert row_of(rescreen(lists_db, "main"), "Ninestar Corporation")["risk_tier"] == "low"


def test_import_names_the_missing_columns(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    with Store(lists_db) as store, pytest.raises(casework.DecisionError, match="lacks the column.*supplier_key"):
        casework.import_decisions(store, "main", pl.DataFrame({"decision": ["confirmed"]}), "dana", "import")


# Monitoring


def test_monitor_reports_only_what_changed_between_two_snapshots(lists_db, tmp_path):
    save(lists_db, "main", suppliers("Ninestar Corporation", "Quiet Meadow Textiles GmbH"))
    quiet = run_monitor(lists_db, Screener.from_db(lists_db))
    assert quiet.changes.is_empty() and quiet.attention == 0

    new_uflpa_snapshot(lists_db, lambda e, n: add_entity("Quiet Meadow Textiles GmbH")(*remove(NINESTAR)(e, n)))
    report = run_monitor(lists_db, Screener.from_db(lists_db))
    changes = {(row["supplier_name"], row["change"]): row for row in report.changes.iter_rows(named=True)}
    assert set(changes) == {("Quiet Meadow Textiles GmbH", "new_match"), ("Quiet Meadow Textiles GmbH", "tier_change"),
                            ("Ninestar Corporation", "removed"), ("Ninestar Corporation", "tier_change")}
    assert changes[("Quiet Meadow Textiles GmbH", "tier_change")]["new_tier"] == "critical"
    assert changes[("Ninestar Corporation", "removed")]["entity_id"] == NINESTAR
    assert all("2026-11-01" in row["cause"] for row in changes.values())
    assert report.attention == 3  # the tier going down is reported but needs no attention

    again = run_monitor(lists_db, Screener.from_db(lists_db))
    assert again.changes.is_empty() and again.runs[0]["previous_run_id"] == report.runs[0]["run_id"]


def test_digest_files_carry_the_changes(lists_db, tmp_path):
    save(lists_db, "main", suppliers("Quiet Meadow <Textiles> GmbH"))
    new_uflpa_snapshot(lists_db, add_entity("Quiet Meadow <Textiles> GmbH"))
    report = run_monitor(lists_db, Screener.from_db(lists_db))
    paths = [write_digest(report, tmp_path / f"digest.{kind}") for kind in ("json", "csv", "html")]
    import json
    body = json.loads(paths[0].read_text(encoding="utf-8"))
    assert body["attention"] == 2 and {c["change"] for c in body["changes"]} == {"new_match", "tier_change"}
    assert pl.read_csv(paths[1])["change"].to_list() == report.changes["change"].to_list()
    html = paths[2].read_text(encoding="utf-8")
    assert "Quiet Meadow &lt;Textiles&gt; GmbH" in html and "<Textiles>" not in html and "new hit" in html


def test_rescreening_unchanged_lists_reports_no_change(lists_db):
    example = pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False)
    variants = pl.concat([example] * 7).with_row_index("n").with_columns(
        supplier_name=pl.format("{} Trading Branch {}", "supplier_name", "n")).drop("n")
    save(lists_db, "large", pl.concat([example, variants]).select("supplier_name", "country"))
    assert rescreen(lists_db, "large").changes.is_empty()


def test_a_decision_follows_the_supplier_into_another_portfolio(lists_db):
    save(lists_db, "europe", suppliers("Ninestar Corporation"))
    dismiss_all(lists_db, "europe", "Ninestar Corporation", rescreen(lists_db, "europe"))
    save(lists_db, "asia", suppliers("Quiet Meadow Textiles GmbH", "NINESTAR  corporation"))
    assert row_of(rescreen(lists_db, "asia"), "NINESTAR  corporation")["dismissed_matches"] == 1


def test_a_refused_replacement_keeps_the_saved_suppliers(lists_db):
    save(lists_db, "main", suppliers("Ninestar Corporation"))
    with Store(lists_db) as store:
        with pytest.raises(PortfolioError, match="has no rows; nothing was saved"):
            add_portfolio(store, "main", suppliers(), MAPPING, source_file="empty.csv", replace=True)
        kept = load_portfolio(store, "main")
    assert kept.frame["supplier_name"].to_list() == ["Ninestar Corporation"] and kept.source_file == "main.csv"
