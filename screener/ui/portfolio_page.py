"""Page: saved supplier portfolios, their runs and changes, analyst decisions and the audit log."""

from __future__ import annotations

import copy
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import streamlit as st

from screener import casework
from screener.casework import CHANGE_LABELS, PortfolioRun
from screener.columns import ColumnMapping
from screener.isolated import read_isolated
from screener.screening import Screener
from screener.store import Store
from screener.supplier_io import SOURCE_COLUMNS
from screener.text import markdown_literal
from screener.ui.data import REPORT_FORMATS, report_bytes, report_file_name
from screener.ui.screen_page import UPLOAD_TYPES, column_mapping_form, read_upload_once
from screener.ui.state import attempt, current_screener, db_path, reload_lists

T = TypeVar("T")
UPLOAD_KEY = "portfolio_upload"
NOTICE_KEY = "portfolio_notice"
PICK_KEY = "portfolio_pick"
RESULTS_KEY = "portfolio_results"
DECIDED_KEY = "decisions_recorded"
REVIEW_FORMATS = ("xlsx", "csv")
DECISION_BUTTONS = {"confirmed": "Confirm", "false_positive": "False positive", "escalated": "Escalate"}
AUDIT_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
STATE_HELP = (
    "open: undecided · dismissed: false positive on an unchanged listing (not counted in the tier) · "
    "reopened: the listing changed since it was marked a false positive · confirmed · escalated"
)


def render() -> None:
    st.title("Portfolios")
    st.caption(
        "A portfolio is a saved supplier list. Re-screen it when the lists change: the page shows what changed since "
        "its previous run and why. Decisions on matches are kept forever in the audit log and apply to later runs."
    )
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    overview = attempt("Cannot read the portfolios", lambda: read(casework.list_portfolios))
    if overview is None:
        return
    overview_table(overview)
    add_form(overview["name"].to_list())
    if overview.is_empty():
        return
    st.divider()
    name = st.selectbox("Portfolio", overview["name"].to_list(), key=PICK_KEY)
    if name:
        portfolio_panel(name, overview.filter(pl.col("name") == name).row(0, named=True))


# Data (read from the store through the casework API, no Streamlit)


def read(query: Callable[[Store], T]) -> T:
    """The answer of a casework query on the app's database."""
    with Store(db_path()) as store:
        return query(store)


def run_details(name: str, run_id: int) -> dict[str, Any]:
    """A run of a portfolio with its snapshots and changes, and the matches of the portfolio's last run."""
    with Store(db_path()) as store:
        return {
            "run": casework.run_record(store, run_id),
            "changes": readable_changes(casework.run_changes(store, run_id)),
            "matches": readable_matches(casework.run_matches(store, name)),
        }


def readable_changes(changes: pl.DataFrame) -> pl.DataFrame:
    """The run's changes, alerts first, with readable change labels."""
    return changes.sort(
        ["attention", "change", "supplier_name"], descending=[True, False, False], nulls_last=True
    ).select(
        "attention",
        pl.col("supplier_name").fill_null(pl.col("supplier_key")).alias("supplier"),
        pl.col("change").replace_strict(CHANGE_LABELS, default=pl.col("change")),
        pl.col("entity_name").alias("listed_entity"),
        "cause",
        "detail",
        pl.col("list_name").alias("list"),
        "program",
    )


def readable_matches(matches: pl.DataFrame) -> pl.DataFrame:
    """The run's matches as the page shows them: supplier, tier, listing, score, band and decision state."""
    return matches.select(
        pl.col("supplier_name").alias("supplier"), pl.col("risk_tier").alias("tier"), "entity_name", "list_name",
        pl.col("score").round(1), "band", "state", "matched_name", "program", "entity_id", "supplier_key",
    )


def audit_bytes(portfolio: str | None, audit_format: str) -> bytes:
    """The audit log (one portfolio's decisions, or all) as CSV or XLSX bytes, formulas neutralised."""
    with tempfile.TemporaryDirectory(prefix="screener-audit-") as folder:
        path = Path(folder) / f"audit.{audit_format}"
        read(lambda store: casework.export_audit_log(store, path, portfolio))
        return path.read_bytes()


def fresh_screener() -> Screener:
    """The session's Screener, reloaded first when a newer snapshot was stored since the lists were cached."""
    screener = current_screener()
    with Store(db_path()) as store:
        stored = set(store.current_snapshots()["snapshot_id"].to_list())
    if set(screener.lists.snapshots["snapshot_id"].to_list()) != stored:
        reload_lists()
        screener = current_screener()
    return screener


def with_progress(screener: Screener, advance: Callable[[int, int], None]) -> Screener:
    """A Screener sharing the lists and rules that reports screening progress to `advance`."""
    reporting = copy.copy(screener)
    reporting.screen = functools.partial(screener.screen, progress=advance)  # type: ignore[method-assign]
    return reporting


# Widgets


def overview_table(overview: pl.DataFrame) -> None:
    st.subheader("Saved portfolios")
    if overview.is_empty():
        st.info("No portfolio yet: upload a supplier list below to save and screen it.")
        return
    st.dataframe(
        overview.select(
            "name", "suppliers", "last_run_id", "last_run_at", "flagged", "undecided_matches", "new_alerts", "changes"
        ),
        hide_index=True,
        column_config={
            "last_run_id": st.column_config.NumberColumn("last run", format="#%d"),
            "last_run_at": st.column_config.DatetimeColumn("run at (UTC)", format="YYYY-MM-DD HH:mm"),
            "flagged": st.column_config.NumberColumn("critical/high", help="Suppliers flagged critical or high"),
            "undecided_matches": st.column_config.NumberColumn("undecided", help="Matches without a decision"),
            "new_alerts": st.column_config.NumberColumn(
                "new alerts", help="Changes since the previous run that need attention (all but tiers going down)"
            ),
            "changes": st.column_config.NumberColumn("changes", help="Every change since the previous run"),
        },
        key="portfolio_overview",
    )


def add_form(existing: list[str]) -> None:
    """Upload a supplier list, confirm its columns, and save it as a portfolio (screened at once)."""
    with st.expander("Add a portfolio", expanded=not existing):
        upload = st.file_uploader("Supplier list", type=UPLOAD_TYPES, key="portfolio_file")
        if upload is None:
            return
        frame, _, _ = read_upload_once(upload, UPLOAD_KEY)
        if frame is None:
            return
        columns = ", ".join(column for column in frame.columns if column not in SOURCE_COLUMNS)
        st.caption(markdown_literal(f"{upload.name}: {frame.height:,} suppliers, columns {columns}"))
        mapping = column_mapping_form(frame, f"portfolio-{upload.file_id}", upload.name)
        name = st.text_input("Portfolio name", value=Path(upload.name).stem, key=f"portfolio_name_{upload.file_id}")
        taken = name.strip() in existing
        replace = taken and st.checkbox(f"Replace the suppliers of '{name.strip()}'", key="portfolio_replace")
        if mapping is None or not st.button("Save and screen", type="primary", key="portfolio_add_button"):
            return
        if taken and not replace:
            st.error(f"A portfolio named '{name.strip()}' already exists: choose another name or tick "
                     "**Replace the suppliers**; nothing was saved.", icon="⚠️")
            return
        save_portfolio(name, frame, mapping, upload.name, replace)


def save_portfolio(name: str, frame: pl.DataFrame, mapping: ColumnMapping, file_name: str, replace: bool) -> None:
    def save(store: Store) -> int:
        return casework.add_portfolio(store, name, frame, mapping, source_file=file_name, replace=replace)

    if attempt("Cannot save the portfolio", lambda: read(save)) is None:
        return
    run = screen_with_progress(name.strip(), trigger="add")
    if run is not None:
        st.session_state[PICK_KEY] = run.portfolio
        st.session_state[NOTICE_KEY] = (
            f"Saved portfolio '{run.portfolio}' ({frame.height:,} suppliers) and screened it."
        )
        st.rerun()


def screen_with_progress(name: str, trigger: str) -> PortfolioRun | None:
    """Screen a saved portfolio against the newest lists with a progress bar; None (error shown) on failure."""
    screener = attempt("Cannot load the lists", fresh_screener)
    if screener is None:
        return None
    bar = st.progress(0.0, text=f"Screening portfolio '{name}'…")

    def advance(done: int, total: int) -> None:
        bar.progress(0.9 * done / total if total else 0.9, text=f"Screened {done:,} of {total:,} suppliers")

    run = attempt(
        f"Cannot screen portfolio '{name}'",
        lambda: casework.screen_portfolio(db_path(), name, with_progress(screener, advance), trigger=trigger),
    )
    if run is None:
        bar.empty()
        return None
    bar.progress(1.0, text=f"Run #{run.run_id}: screened {run.result.rows.height:,} suppliers")
    st.session_state.setdefault(RESULTS_KEY, {})[name] = run
    return run


def portfolio_panel(name: str, summary: dict[str, Any]) -> None:
    """The chosen portfolio: re-screen, last run and its changes, matches and decisions, audit log."""
    st.subheader(name)
    if st.button("Re-screen against the newest lists", type="primary", key="portfolio_screen_button"):
        run = screen_with_progress(name, trigger="ui")
        if run is not None:
            st.session_state[NOTICE_KEY] = (
                f"Run #{run.run_id} of '{name}': {run.changes.height} change(s) since run #{run.previous_run_id}."
            )
            st.rerun()
    if summary["last_run_id"] is None:
        st.info("This portfolio has not been screened yet: press **Re-screen**.")
        return
    run_metrics(summary)
    run_id = run_choice(name, summary["last_run_id"])
    if run_id is None:
        return
    details = attempt("Cannot read the run", lambda: run_details(name, run_id))
    if details is None:
        return
    run_caption(details["run"])
    changes_table(details["changes"], details["run"])
    decision_panel(name, details["matches"])
    review_in_a_spreadsheet(name, summary["last_run_id"])
    audit_downloads(name)


def run_metrics(summary: dict[str, Any]) -> None:
    """Counts of the portfolio's last run."""
    cells = st.columns(4)
    cells[0].metric("Suppliers", f"{summary['suppliers']:,}")
    cells[1].metric("Critical/high", f"{summary['flagged']:,}")
    cells[2].metric("Undecided matches", f"{summary['undecided_matches']:,}")
    cells[3].metric("New alerts", f"{summary['new_alerts']:,}")


def run_choice(name: str, last_run_id: int) -> int | None:
    """The run whose changes to show: the last one unless the user picks an earlier one.

    The picker is a new widget for each last run, so a new run is shown as soon as it is made.
    """
    runs = attempt("Cannot read the runs", lambda: read(lambda store: casework.portfolio_runs(store, name)))
    if runs is None:
        return None
    labels = {
        row["run_id"]: f"run #{row['run_id']} ({row['trigger']}) at {str(row['run_at'])[:16]} UTC: "
        f"{row['alerts']} alert(s), {row['changes']} change(s)"
        for row in runs.iter_rows(named=True)
    }
    return st.selectbox("Run", list(labels), format_func=labels.__getitem__, key=run_picker_key(name, last_run_id))


def run_picker_key(name: str, last_run_id: int) -> str:
    return f"portfolio_run_{name}_{last_run_id}"


def run_caption(run: dict[str, Any]) -> None:
    """When a run was made and which list snapshots it and its previous run used."""
    st.caption(
        f"Run #{run['run_id']} ({run['trigger']}) at {str(run['run_at'])[:19]} UTC, rules {run['rules_version']}. "
        f"Lists: {casework.snapshots_line(run['snapshots'])}."
        + (f" Previous run #{run['previous_run_id']} used: {casework.snapshots_line(run['previous_snapshots'])}."
           if run["previous_run_id"] else "")
    )


def changes_table(changes: pl.DataFrame, run: dict[str, Any]) -> None:
    previous = run["previous_run_id"]
    if previous is None:
        st.info(f"Run #{run['run_id']} is the portfolio's first screening: the baseline that later runs are "
                "compared with. Its matches are listed below.")
        return
    st.markdown(f"**Changes in run #{run['run_id']} since run #{previous}**")
    if changes.is_empty():
        st.info("Nothing changed since the previous run.")
        return
    st.dataframe(
        changes,
        hide_index=True,
        column_config={
            "change": st.column_config.TextColumn("change"),
            "listed_entity": st.column_config.TextColumn("listed entity"),
            "cause": st.column_config.TextColumn("cause (list snapshot → snapshot)", width="large"),
            "attention": st.column_config.CheckboxColumn("alert"),
        },
        key="portfolio_changes",
    )


def decision_panel(name: str, matches: pl.DataFrame) -> None:
    """The matches of the last run, and decision buttons with the history of the one picked."""
    st.markdown("**Matches in the last run**")
    if matches.is_empty():
        st.info("No supplier of this portfolio matched a listed entity.")
        return
    st.dataframe(matches, hide_index=True, key="portfolio_matches")
    st.caption(STATE_HELP)
    by_match = {(row["supplier_key"], row["entity_id"]): row for row in matches.iter_rows(named=True)}
    labels = {
        match: f"{row['supplier'] or row['supplier_key']} ↔ {row['entity_name']} ({row['list_name']}, score {row['score']})"
        for match, row in by_match.items()
    }
    picked = st.selectbox("Match to decide", list(labels), format_func=labels.__getitem__, key="decision_match")
    if picked is None:
        return
    st.markdown(f"State of this match: **{by_match[picked]['state']}**")
    decision_form(name, *picked)
    history = attempt("Cannot read the decision history",
                      lambda: read(lambda store: casework.decision_history(store, *picked)))
    if history is not None:
        st.markdown("**Decision history of this match**")
        if history.is_empty():
            st.caption("No decision yet.")
        else:
            st.dataframe(history, hide_index=True, key="decision_history")


def decision_form(name: str, supplier_key: str, entity_id: str) -> None:
    """Comment, analyst and a button per decision; the comment box is a new, empty one after each decision."""
    recorded = st.session_state.get(DECIDED_KEY, 0)
    comment = st.text_area("Comment (required: why, kept in the audit log)", key=f"decision_comment_{recorded}")
    analyst = st.text_input("Analyst (required: your name)", value=casework.configured_analyst(),
                            key="decision_analyst")
    for cell, (decision, label) in zip(st.columns(len(DECISION_BUTTONS)), DECISION_BUTTONS.items(), strict=True):
        if cell.button(label, key=f"decide_{decision}"):
            record_decision(name, supplier_key, entity_id, decision, comment, analyst)


def record_decision(name: str, supplier_key: str, entity_id: str, decision: str, comment: str, analyst: str) -> None:
    if not comment.strip():
        st.error("Write a comment saying why before deciding: every decision needs one; nothing was recorded.",
                 icon="⚠️")
        return
    if not analyst.strip():
        st.error("Give the analyst's name before deciding; nothing was recorded.", icon="⚠️")
        return

    def decide(store: Store) -> int:
        return casework.decide(store, name, supplier_key, entity_id, decision, comment, analyst, origin="ui")

    decision_id = attempt("Cannot record the decision", lambda: read(decide))
    if decision_id is not None:
        st.session_state[NOTICE_KEY] = (
            f"Recorded decision #{decision_id}: {decision.replace('_', ' ')}. It applies to the tier from the next "
            "screening."
        )
        st.session_state[DECIDED_KEY] = st.session_state.get(DECIDED_KEY, 0) + 1
        st.rerun()


def review_in_a_spreadsheet(name: str, last_run_id: int) -> None:
    """Download the last run's report, fill in its decision column, and import the decisions it holds."""
    with st.expander("Review in a spreadsheet"):
        run: PortfolioRun | None = st.session_state.get(RESULTS_KEY, {}).get(name)
        if run is None or run.run_id != last_run_id:
            st.caption("Re-screen the portfolio to download its report here (or use `screener portfolio screen "
                       f"\"{name}\" --out report.xlsx`).")
        else:
            for cell, report_format in zip(st.columns(len(REVIEW_FORMATS)), REVIEW_FORMATS, strict=True):
                cell.download_button(
                    f"Download run #{run.run_id} report ({report_format.upper()})",
                    data=functools.partial(report_bytes, run.result, report_format),
                    file_name=report_file_name(name, report_format),
                    mime=REPORT_FORMATS[report_format],
                    on_click="ignore",
                    key=f"review_{report_format}",
                )
        st.caption(
            "Fill in the decision column (confirmed, false positive or escalated) and a comment for each decided "
            "row, keeping supplier_key and match_entity_id. Every decision is recorded, or none if a row is wrong."
        )
        upload = st.file_uploader("Reviewed report", type=["csv", "xlsx"], key=f"reviewed_{name}")
        analyst = st.text_input("Analyst, unless the file has an analyst column",
                                value=casework.configured_analyst(), key="import_analyst")
        if upload is not None and st.button("Import decisions", key="import_button"):
            import_reviewed(name, upload, analyst)


def import_reviewed(name: str, upload: Any, analyst: str) -> None:
    def record() -> list[int]:
        reviewed = read_isolated(upload.getvalue(), filename=upload.name).frame
        return read(lambda store: casework.import_decisions(store, name, reviewed, analyst.strip() or None,
                                                            origin=f"ui-import:{upload.name}"))

    ids = attempt(f"Cannot import {upload.name}", record)
    if ids is not None:
        st.session_state[NOTICE_KEY] = (
            f"Recorded {len(ids)} decision(s) from {upload.name}. They apply from the next screening."
        )
        st.rerun()


def audit_downloads(name: str) -> None:
    st.markdown("**Audit log**")
    everything = st.checkbox("Every portfolio's decisions", key="audit_all")
    scope = None if everything else name
    stem = "audit-log" if everything else f"{name}-audit-log"
    for cell, (audit_format, mime) in zip(st.columns(len(AUDIT_FORMATS)), AUDIT_FORMATS.items(), strict=True):
        cell.download_button(
            f"Download audit log ({audit_format.upper()})",
            data=functools.partial(audit_bytes, scope, audit_format),
            file_name=f"{stem}.{audit_format}",
            mime=mime,
            on_click="ignore",
            key=f"audit_{audit_format}",
        )
