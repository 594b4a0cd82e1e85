"""Page: the lists in force (snapshot, as-of date, counts, licence), refreshing them, and their latest changes."""

from __future__ import annotations

import polars as pl
import streamlit as st

from screener.embedded import ensure_embedded
from screener.store import Store
from screener.ui.state import attempt, db_path, reload_lists

SNAPSHOT_COLUMNS = {
    "source": st.column_config.TextColumn("source"),
    "title": st.column_config.TextColumn("list", width="large"),
    "as_of": st.column_config.DateColumn("as of"),
    "row_count": st.column_config.NumberColumn("entities"),
    "name_count": st.column_config.NumberColumn("names"),
    "snapshot_id": st.column_config.NumberColumn("snapshot"),
    "origin": st.column_config.TextColumn("origin", help="embedded: shipped with the tool; ingested: downloaded"),
    "fetched_at": st.column_config.DatetimeColumn("stored at"),
    "url": st.column_config.LinkColumn("source URL"),
}


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
    st.dataframe(current, hide_index=True, column_order=list(SNAPSHOT_COLUMNS), column_config=SNAPSHOT_COLUMNS)
    for snapshot in current.iter_rows(named=True):
        with st.expander(f"{snapshot['title']} — coverage and licence"):
            st.markdown(f"**Coverage.** {snapshot['coverage'] or 'not stated'}")
            st.markdown(f"**Licence.** {snapshot['licence'] or 'not stated'}")
            st.markdown(f"**Source.** {snapshot['url']} · sha256 `{snapshot['sha256'] or ''}`")
    refresh_section()
    with st.expander(f"Snapshot history ({history.height} stored)"):
        st.dataframe(
            history.select("snapshot_id", "source", "as_of", "status", "row_count", "name_count", "origin", "fetched_at"),
            hide_index=True,
        )
    if st.button("Reload lists", help="Read the database again, e.g. after `screener ingest` ran elsewhere"):
        reload_lists()
        st.success("The lists will be read again at the next screening.")


def refresh_section() -> None:
    st.subheader("Refresh")
    st.caption("Download the live lists; a failed or suspicious download keeps the stored list in force.")
