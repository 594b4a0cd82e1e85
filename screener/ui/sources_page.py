"""Page: the lists in force (snapshot, as-of date, counts, licence), refreshing them, and their latest changes."""

from __future__ import annotations

import httpx
import polars as pl
import streamlit as st

from screener.embedded import ensure_embedded
from screener.ingest import Diff, IngestError, IngestResult, diff_snapshots, ingest_many
from screener.store import Store
from screener.text import markdown_literal
from screener.ui.state import attempt, db_path, reload_lists
from sources.fetch_policy import make_client
from sources.registry import SOURCES, get_source

STAGES = ("downloading", "parsing", "validating", "storing")
DIFF_ROWS = 200
REFRESH_KEY = "refresh_results"

SNAPSHOT_COLUMNS = {
    "source": st.column_config.TextColumn("source"),
    "title": st.column_config.TextColumn("list", width="large"),
    "as_of": st.column_config.DateColumn("as of"),
    "row_count": st.column_config.NumberColumn("entities"),
    "name_count": st.column_config.NumberColumn("names"),
    "snapshot_id": st.column_config.NumberColumn("snapshot"),
    "origin": st.column_config.TextColumn("origin", help="embedded: shipped with the tool; ingested: downloaded"),
    "fetched_at": st.column_config.DatetimeColumn("stored at", format="YYYY-MM-DD HH:mm [UTC]", timezone="UTC"),
    "url": st.column_config.LinkColumn("source URL"),
    "status": st.column_config.TextColumn("state", help="current: in force; superseded: replaced by a newer snapshot"),
}
HISTORY_ORDER = ("snapshot_id", "source", "as_of", "status", "row_count", "name_count", "origin", "fetched_at")


def http_client() -> httpx.Client:
    """The client refreshes download with (tests swap in a mock transport)."""
    return make_client()


def read_snapshots() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The snapshots in force and every stored snapshot (history), loading the embedded lists on first use."""
    with Store(db_path()) as store:
        ensure_embedded(store)
        return store.current_snapshots(), store.snapshots()


def render() -> None:
    st.title("Data sources")
    st.caption(f"Database: `{db_path()}`")
    snapshots = attempt("Cannot read the database", read_snapshots)
    if snapshots is None:
        return
    current, history = snapshots
    st.subheader("Lists in force")
    st.dataframe(current, hide_index=True, column_order=[column for column in SNAPSHOT_COLUMNS if column != "status"],
                 column_config=SNAPSHOT_COLUMNS)
    for snapshot in current.iter_rows(named=True):
        with st.expander(f"{snapshot['title']} — coverage and licence"):
            st.markdown(f"**Coverage.** {markdown_literal(snapshot['coverage'] or 'not stated')}")
            st.markdown(f"**Licence.** {markdown_literal(snapshot['licence'] or 'not stated')}")
            st.markdown(f"**Source.** {markdown_literal(snapshot['url'] or '')} · "
                        f"sha256 {markdown_literal(snapshot['sha256'] or '')}")
    refresh_section()
    latest_changes(current)
    with st.expander(f"Snapshot history ({history.height} stored)"):
        st.dataframe(history, hide_index=True, column_order=HISTORY_ORDER, column_config=SNAPSHOT_COLUMNS)
    if st.button("Reload lists", help="Read the database again, e.g. after `screener ingest` ran elsewhere"):
        reload_lists()
        st.success("The lists will be read again at the next screening.")


def refresh_section() -> None:
    st.subheader("Refresh")
    st.caption(
        "Download the live lists from their publishers into new snapshots. A failed download, a changed format "
        "or a list that lost more than half its entities is refused and the stored list stays in force."
    )
    chosen = st.multiselect("Lists to refresh", list(SOURCES), default=["uflpa", "cbp_wro"], key="refresh_sources")
    force = st.checkbox("Accept a list that shrank by more than half", key="refresh_force")
    if st.button("Refresh lists", key="refresh_button", disabled=not chosen):
        results = run_refresh(chosen, force)
        if results is None:
            return
        st.session_state[REFRESH_KEY] = results
        st.rerun()
    show_refresh(st.session_state.get(REFRESH_KEY, []))


def run_refresh(names: list[str], force: bool) -> list[IngestResult] | None:
    """Run the ingestors with a progress bar; every outcome is kept, failures included."""
    bar = st.progress(0.0, text="Starting…")
    steps = len(names) * len(STAGES)
    done: list[str] = []

    def advance(source: str, stage: str) -> None:
        done.append(stage)
        bar.progress(min(len(done) / steps, 1.0), text=f"{source}: {stage}")

    def refresh() -> list[IngestResult]:
        with Store(db_path()) as store, http_client() as client:
            return ingest_many(store, [get_source(name) for name in names], client, force=force, on_stage=advance)

    results = attempt("The refresh failed", refresh)
    bar.progress(1.0, text="Refresh finished")
    if results and any(result.status == "updated" for result in results):
        reload_lists()
    return results


def show_refresh(results: list[IngestResult]) -> None:
    for result in results:
        if result.status == "failed":
            st.error(markdown_literal(f"{result.source}: {result.message}"), icon="⚠️")
        elif result.status == "updated":
            st.success(
                f"{result.source}: new snapshot {result.snapshot_id} with {result.total:,} entities "
                f"({result.added} added, {result.removed} removed, {result.changed} changed)"
            )
        else:
            st.info(markdown_literal(f"{result.source}: {result.status}, {result.message}"))


def snapshot_diffs(sources: list[str]) -> dict[str, tuple[int, int, Diff] | None]:
    """Per source, its current snapshot diffed against the one before (None when there is no earlier one)."""
    diffs: dict[str, tuple[int, int, Diff] | None] = {}
    with Store(db_path()) as store:
        for source in sources:
            try:
                diffs[source] = diff_snapshots(store, source)
            except IngestError:
                diffs[source] = None
    return diffs


def latest_changes(current: pl.DataFrame) -> None:
    """Per list, what changed between its current snapshot and the one before (as `screener diff` shows)."""
    st.subheader("Latest changes")
    diffs = attempt("Cannot compare the snapshots", lambda: snapshot_diffs(current["source"].to_list()))
    for source, compared in (diffs or {}).items():
        if compared is None:
            st.caption(f"{source}: only one snapshot stored, nothing to compare yet.")
            continue
        older, newer, diff = compared
        added, removed, changed = diff.counts()
        with st.expander(f"{source}: snapshot {older} → {newer}: {added} added, {removed} removed, {changed} changed"):
            for title, frame in (("Added", diff.added), ("Removed", diff.removed), ("Changed", diff.changed)):
                if frame.height:
                    st.markdown(f"**{title}** ({frame.height})")
                    columns = [
                        c
                        for c in ("name", "list_name", "program", "start_date", "changed_fields")
                        if c in frame.columns
                    ]
                    st.dataframe(frame.select(columns).head(DIFF_ROWS), hide_index=True)
