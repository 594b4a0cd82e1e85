"""Page: upload a supplier list, confirm its columns, screen it, explore and download the results."""

from __future__ import annotations

import functools
import time
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from screener.columns import ColumnMapping, detect_columns
from screener.errors import USER_ERRORS, first_line
from screener.isolated import read_isolated
from screener.parties import PartyMapping, detect_parties
from screener.result import TIERS, ScreenResult
from screener.supplier_io import SOURCE_COLUMNS, InputFileError
from screener.text import markdown_literal
from screener.ui.data import (
    REPORT_FORMATS,
    ROLE_LABELS,
    ROLES,
    TIER_HEX,
    ResultFilter,
    blank_missing,
    country_counts,
    filter_options,
    filter_results,
    is_workbook,
    list_hits,
    mapping_from_choices,
    report_bytes,
    report_file_name,
    results_table,
    sheet_names,
    supplier_candidates,
    supplier_row,
    tier_counts,
)
from screener.ui.state import attempt, current_screener
from screener.ui.views import candidate_table, verdict_card

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "ods"]
PREVIEW_ROWS = 20
DETAIL_CHOICES = 1_000
STYLED_ROWS = 20_000
UPLOAD_KEY = "upload"
RESULT_KEY = "screening"
SHEETS_KEY = "upload_sheets"
RESULT_COLUMNS = {
    "in_file": st.column_config.TextColumn("in file", help="Sheet and row of the supplier in the uploaded file", width="small"),
    "supplier": st.column_config.TextColumn("supplier", width="medium"),
    "tier": st.column_config.TextColumn("tier", width="small"),
    "score": st.column_config.NumberColumn("risk", format="%.0f", width="small"),
    "list": st.column_config.TextColumn("list", width="medium"),
    "main_reason": st.column_config.TextColumn("main reason", width="large"),
    "matched_entity": st.column_config.TextColumn("matched entity"),
    "match_score": st.column_config.TextColumn("name score"),
    "program": st.column_config.TextColumn("program / section"),
    "source_url": st.column_config.LinkColumn("source", display_text="open"),
}
PAGE_ROWS = 500
CLICKED_KEY = "results_clicked_row"


def render() -> None:
    st.title("Screen suppliers")
    limit = st.get_option("server.maxUploadSize")
    st.caption(
        f"Upload a supplier list as CSV or Excel (up to {limit} MB; screen larger files with the `screener screen` "
        "command). Every row is checked against the UFLPA Entity List, CBP Withhold Release Orders and Findings "
        "and Xinjiang-related sanctions, plus XUAR locations, registration codes and high-priority sectors."
    )
    upload = st.file_uploader("Supplier list", type=UPLOAD_TYPES, key="supplier_file")
    if upload is None:
        st.session_state.pop(UPLOAD_KEY, None)
        return
    frame, source_id = uploaded_frame(upload)
    if frame is None:
        return
    # folded once results exist, or from the run in which the Screen button was pressed
    screened = (st.session_state.get(RESULT_KEY) or {}).get("source_id") == source_id
    screened = screened or bool(st.session_state.get("screen_button"))
    columns = frame.width - sum(column in SOURCE_COLUMNS for column in frame.columns)
    with st.expander(markdown_literal(f"Preview and columns of {upload.name}"), expanded=not screened):
        st.caption(markdown_literal(f"{upload.name}: {frame.height:,} rows, {columns} columns (first {PREVIEW_ROWS} shown)"))
        st.dataframe(frame.head(PREVIEW_ROWS), hide_index=True)
        mapping = shipment_parties(frame) or column_mapping_form(frame, source_id, upload.name)
    if mapping is not None and st.button("Screen suppliers", type="primary", key="screen_button"):
        run_screening(frame, mapping, source_id, upload.name)
    screening = st.session_state.get(RESULT_KEY)
    if screening and screening["source_id"] == source_id:
        if mapping is not None and screening["mapping"] != mapping:
            st.info("The column choices changed since this screening; press **Screen suppliers** to apply them.")
        show_results(screening)


def uploaded_frame(upload: Any) -> tuple[pl.DataFrame | None, str]:
    """The uploaded file (or chosen sheet) and an id for that choice; a new choice drops the last results."""
    frame, source_id, fresh = read_upload_once(upload, UPLOAD_KEY)
    if fresh:
        st.session_state.pop(RESULT_KEY, None)
    return frame, source_id


def read_upload_once(upload: Any, session_key: str) -> tuple[pl.DataFrame | None, str, bool]:
    """The upload read into a frame once per file and sheet, an id for that choice, and whether it was just read.

    A file that cannot be read shows one error line and gives no frame.
    """
    sheet = sheet_choice(upload)
    stored: dict[str, Any] = st.session_state.get(session_key) or {}
    fresh = not stored or (stored["file_id"], stored["sheet"]) != (upload.file_id, sheet)
    if fresh:
        stored = {"file_id": upload.file_id, "sheet": sheet, "frame": None, "error": None, "repairs": ()}
        try:
            table = read_isolated(upload.getvalue(), filename=upload.name, sheet=sheet)
            stored["frame"], stored["repairs"] = table.frame, table.repairs
        except USER_ERRORS as error:
            stored["error"] = first_line(error)
        st.session_state[session_key] = stored
    if stored["error"]:
        st.error(markdown_literal(f"Cannot read {upload.name}: {stored['error']}"), icon="⚠️")
    if stored["repairs"]:
        st.warning(markdown_literal(f"Rows repaired while reading {upload.name}: " + "; ".join(stored["repairs"])),
                   icon="🔧")
    return stored["frame"], f"{upload.file_id}-{sheet or ''}", fresh


def sheet_choice(upload: Any) -> str | None:
    """The sheet picked in a workbook with several sheets; None reads the first sheet that has rows."""
    sheets = st.session_state.get(SHEETS_KEY)
    if not sheets or sheets[0] != upload.file_id:
        sheets = (upload.file_id, sheet_names(upload.getvalue(), upload.name) if is_workbook(upload.name) else [])
        st.session_state[SHEETS_KEY] = sheets
    if len(sheets[1]) < 2:
        return None
    return st.selectbox(
        "Sheet",
        [None, *sheets[1]],
        format_func=lambda name: "first sheet with rows" if name is None else name,
        key=f"sheet_{upload.file_id}",
    )


def column_mapping_form(frame: pl.DataFrame, source_id: str, file_name: str) -> ColumnMapping | None:
    """Selectboxes for each role, pre-set to the detected columns; None until a valid name column is chosen."""
    try:
        detected = detect_columns(frame).as_dict()
    except InputFileError:
        detected = dict.fromkeys(ROLES)
        st.error(
            markdown_literal(f"No supplier-name column was recognised in {file_name} (columns: "
                             f"{', '.join(frame.columns)}). Choose the column that holds the supplier name below."),
            icon="⚠️",
        )
    st.subheader("Columns")
    st.caption("Detected columns are pre-selected; correct them if needed. Only the name is required.")
    options: list[str | None] = [None, *(column for column in frame.columns if column not in SOURCE_COLUMNS)]
    choices: dict[str, str | None] = {}
    cells = st.columns(3)
    for index, role in enumerate(ROLES):
        with cells[index % 3]:
            choices[role] = st.selectbox(
                ROLE_LABELS[role],
                options,
                index=options.index(detected[role]) if detected[role] else (None if role == "name" else 0),
                format_func=lambda column: "— none —" if column is None else column,
                placeholder="Choose the supplier-name column",
                key=f"column_{role}_{source_id}",
            )
    if not choices["name"]:
        return None
    return attempt("Check the column choices", lambda: mapping_from_choices(choices))


def shipment_parties(frame: pl.DataFrame) -> PartyMapping | None:
    """The parties of a shipment file (shipper, consignee, manufacturer, ... headers), said in a caption."""
    parties = detect_parties(frame)
    if parties is not None:
        named = ", ".join(f"{party.role} ({party.name})" for party in parties.parties)
        st.caption(markdown_literal(f"Shipment file: every party is screened — {named} — and each row gets its worst "
                                    "party's tier; reasons name the party."))
    return parties


def run_screening(frame: pl.DataFrame, mapping: ColumnMapping | PartyMapping, source_id: str, file_name: str) -> None:
    """Screen the frame with a progress bar and keep the result in the session."""
    screener = attempt("Cannot load the lists", current_screener)
    if screener is None:
        return
    bar = st.progress(0.0, text=f"Screening {frame.height:,} suppliers…")

    def advance(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Screened {done:,} of {total:,} suppliers")

    started = time.perf_counter()
    result = attempt(
        "Screening failed", lambda: screener.screen(frame, mapping, progress=advance, input_name=file_name)
    )
    if result is None:
        bar.empty()
        return
    bar.progress(1.0, text=f"Screened {frame.height:,} suppliers")
    st.session_state[RESULT_KEY] = {
        "source_id": source_id,
        "mapping": mapping,
        "result": result,
        "table": results_table(result),
        "seconds": time.perf_counter() - started,
    }


def show_results(screening: dict[str, Any]) -> None:
    result: ScreenResult = screening["result"]
    table: pl.DataFrame = screening["table"]
    st.subheader("Results")
    summary(result, screening["seconds"])
    downloads(result)
    charts(result, table)
    shown = filter_results(table, result_filter(table, screening["source_id"]))
    page = page_of(shown, table.height, screening["source_id"])
    picked = st.dataframe(
        styled(page),
        hide_index=True,
        column_order=list(RESULT_COLUMNS),
        column_config=RESULT_COLUMNS,
        key=f"results_table_{hash(tuple(page['row']))}",  # a new filter or page starts with no row selected
        on_select="rerun",
        selection_mode="single-row",
    )
    clicked = page["row"][picked.selection.rows[0]] if picked.selection.rows else None
    if clicked is not None and clicked != st.session_state.get(CLICKED_KEY):
        st.session_state["detail_row"] = clicked
    st.session_state[CLICKED_KEY] = clicked
    detail_panel(result, shown)


def page_of(shown: pl.DataFrame, total: int, source_id: str) -> pl.DataFrame:
    """The page of the results the user is on ({PAGE_ROWS} rows a page), with a caption saying where it is."""
    pages = max(1, -(-shown.height // PAGE_ROWS))
    number = 1
    if pages > 1:
        number = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"results_page_{source_id}"))
    first = (number - 1) * PAGE_ROWS
    rows = f" (rows {first + 1:,}–{min(first + PAGE_ROWS, shown.height):,} on this page)" if pages > 1 else ""
    st.caption(
        f"{shown.height:,} of {total:,} suppliers shown{rows}, most severe first. Click a row to open its detail below."
    )
    return shown.slice(first, PAGE_ROWS)


def summary(result: ScreenResult, seconds: float) -> None:
    counts = dict(tier_counts(result).iter_rows())
    for cell, tier in zip(st.columns(len(TIERS)), TIERS, strict=True):
        cell.metric(tier, f"{counts[tier]:,}")
    lists = "; ".join(
        f"{snapshot['title'] or snapshot['source']} (snapshot {snapshot['snapshot_id']}, as of {snapshot['as_of']})"
        for snapshot in result.metadata.get("snapshots", [])
    )
    st.caption(
        f"{result.rows.height:,} suppliers screened in {seconds:.1f} s against: {lists}. "
        f"Rules version {result.metadata.get('rules_version')}."
    )


def downloads(result: ScreenResult) -> None:
    """One download button per report format; each report is written only when its button is pressed."""
    input_name = str(result.metadata.get("input") or "suppliers")
    for cell, (report_format, mime) in zip(st.columns(len(REPORT_FORMATS)), REPORT_FORMATS.items(), strict=True):
        cell.download_button(
            f"Download {report_format.upper()} report",
            data=functools.partial(report_bytes, result, report_format),
            file_name=report_file_name(input_name, report_format),
            mime=mime,
            on_click="ignore",
            key=f"download_{report_format}",
        )


def charts(result: ScreenResult, table: pl.DataFrame) -> None:
    with st.expander("Charts", expanded=False):
        tier_cell, list_cell, country_cell = st.columns(3)
        tier_cell.altair_chart(tier_chart(tier_counts(result)), width="stretch")
        hits = list_hits(result)
        if hits.is_empty():
            list_cell.caption("No supplier matched a list.")
        else:
            list_cell.altair_chart(ranked_bars(hits, "list", "Suppliers matched per list"), width="stretch")
        country_cell.altair_chart(
            ranked_bars(country_counts(table), "country", "Suppliers per country"), width="stretch"
        )


def tier_chart(counts: pl.DataFrame) -> alt.Chart:
    return (
        alt.Chart(counts.to_pandas(), title="Suppliers per tier")
        .mark_bar()
        .encode(
            x=alt.X("tier:N", sort=list(TIERS)),
            y=alt.Y("suppliers:Q"),
            color=alt.Color(
                "tier:N", scale=alt.Scale(domain=list(TIERS), range=[TIER_HEX[t] for t in TIERS]), legend=None
            ),
            tooltip=["tier", "suppliers"],
        )
    )


def ranked_bars(counts: pl.DataFrame, label: str, title: str) -> alt.Chart:
    """Horizontal bars of `suppliers` per `label`, largest first."""
    return (
        alt.Chart(counts.to_pandas(), title=title)
        .mark_bar()
        .encode(x=alt.X("suppliers:Q"), y=alt.Y(f"{label}:N", sort="-x", title=None), tooltip=[label, "suppliers"])
    )


def result_filter(table: pl.DataFrame, source_id: str) -> ResultFilter:
    tier_cell, list_cell, country_cell, search_cell = st.columns(4)
    present = set(table["tier"].to_list())
    return ResultFilter(
        tiers=tuple(tier_cell.multiselect("Tier", [t for t in TIERS if t in present], key=f"filter_tier_{source_id}")),
        lists=tuple(list_cell.multiselect("List", filter_options(table, "lists"), key=f"filter_list_{source_id}")),
        countries=tuple(
            country_cell.multiselect("Country", filter_options(table, "country"), key=f"filter_country_{source_id}")
        ),
        search=search_cell.text_input("Search", placeholder="supplier, entity or reason", key=f"search_{source_id}"),
    )


def styled(table: pl.DataFrame) -> Any:
    """The table with each tier cell coloured (plain for very large tables, which styling would slow down)."""
    frame = blank_missing(table).to_pandas()
    if table.height > STYLED_ROWS:
        return frame
    return frame.style.map(
        lambda tier: f"background-color: {TIER_HEX.get(tier, '#9e9e9e')}; color: white", subset=["tier"]
    )


def detail_panel(result: ScreenResult, shown: pl.DataFrame) -> None:
    """Verdict, reasons, citations and candidates of the supplier the user picks."""
    st.subheader("Supplier detail")
    if shown.is_empty():
        st.info("No supplier matches the filters.")
        return
    chosen = st.session_state.get("detail_row")
    listed = shown.head(DETAIL_CHOICES)
    if chosen is not None and chosen not in listed["row"]:
        found = shown.filter(pl.col("row") == chosen)
        if found.is_empty():  # filtered out: the first supplier shown (set, so the browser's old choice yields)
            st.session_state["detail_row"] = listed["row"][0]
        listed = pl.concat([found, listed])
    choices = listed.select("row", "in_file", "supplier", "tier")
    labels = {
        row: f"{where} · {supplier or '(no name)'} · {tier}" for row, where, supplier, tier in choices.iter_rows()
    }
    picked = st.selectbox("Supplier", list(labels), format_func=labels.__getitem__, key="detail_row")
    if picked is None:
        return
    candidates = supplier_candidates(result, picked)
    verdict_card(supplier_row(result, picked), candidates)
    st.markdown("**Candidate listings**")
    candidate_table(candidates)
