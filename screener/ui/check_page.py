"""Page: check one entity by name (any script), with optional country and address."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from screener.cpu import on_one_core
from screener.reports.check_record import HASH_FIELD, check_record, record_bytes, record_html, record_json
from screener.result import ScreenResult
from screener.text import markdown_literal
from screener.ui.data import supplier_candidates, supplier_row
from screener.ui.state import attempt, current_screener
from screener.ui.views import candidate_table, verdict_card

RESULT_KEY = "check_result"
TOP_CANDIDATES = 10


def render() -> None:
    st.title("Check an entity")
    st.caption(
        "For a single supplier or counterparty: a name in Latin or Chinese script (e.g. 新疆生产建设兵团), "
        "optionally its country and address. The verdict cites every list entry it rests on."
    )
    with st.form("check_form"):
        name = st.text_input("Name", placeholder="Company or person name")
        country_cell, address_cell = st.columns([1, 3])
        country = country_cell.text_input("Country (optional)", placeholder="CN or China")
        address = address_cell.text_input("Address (optional)", placeholder="Street, city, province")
        submitted = st.form_submit_button("Check", type="primary")
    if submitted:
        run_check(name, country, address)
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        show_verdict(result)


def run_check(name: str, country: str, address: str) -> None:
    if not name.strip():
        st.error("Enter a name to check.", icon="⚠️")
        st.session_state.pop(RESULT_KEY, None)
        return
    screener = attempt("Cannot load the lists", current_screener)
    if screener is None:
        return
    with on_one_core():  # one name's small steps run faster on one core than spread over every core
        result = attempt(
            "The check failed",
            lambda: screener.check(name.strip(), country=country.strip() or None, address=address.strip() or None),
        )
    if result is not None:
        st.session_state[RESULT_KEY] = result


def show_verdict(result: ScreenResult) -> None:
    record = supplier_row(result, 0)
    candidates = supplier_candidates(result, 0)
    st.subheader(markdown_literal(f"Verdict for {record['supplier']}"))
    verdict_card(record, candidates)
    searched(check_record(result))
    st.markdown(f"**Top candidates** ({min(candidates.height, TOP_CANDIDATES)} of {candidates.height})")
    candidate_table(candidates.head(TOP_CANDIDATES))


def searched(record: dict[str, Any]) -> None:
    """What the check searched — lists, snapshots, as-of dates, thresholds, time — and the record to download."""
    with st.container(border=True):
        st.markdown("**What was searched**")
        lists = "\n".join(
            f"- {markdown_literal(snapshot['title'] or snapshot['source'])}: snapshot #{snapshot['snapshot_id']}, "
            f"as of {snapshot['as_of'] or 'unknown'}" for snapshot in record["lists_searched"]
        )
        st.markdown(lists)
        thresholds = record["thresholds"]
        st.caption(
            f"Checked at {readable_time(record['checked_at'])} against "
            + (f"the listings in force on {record['lists_as_of']}" if record["lists_as_of"] else "the latest lists")
            + "; match threshold "
            f"{thresholds['match']}, review threshold {thresholds['review']}; rules version "
            f"{record['rules_version']}. Content hash (SHA-256): `{record[HASH_FIELD]}`"
        )
        stem = "check-" + "".join(char if char.isalnum() else "-" for char in record["query"]["name"])[:60]
        pdf_cell, html_cell, json_cell = st.columns(3)
        pdf_cell.download_button(
            "Download record (PDF)", lambda: record_bytes(record, "pdf"), file_name=f"{stem}.pdf",
            mime="application/pdf", on_click="ignore", key="check_record_pdf", type="primary",
            help="The record as a PDF, its JSON attached, to file with the vendor's documents.",
        )
        html_cell.download_button(
            "Download record (HTML)", record_html(record), file_name=f"{stem}.html", mime="text/html",
            on_click="ignore", key="check_record_html",
        )
        json_cell.download_button(
            "Download record (JSON)", record_json(record), file_name=f"{stem}.json", mime="application/json",
            on_click="ignore", key="check_record_json",
        )


def readable_time(iso_time: str) -> str:
    """An ISO time with its offset as 'YYYY-MM-DD HH:MM:SS UTC' (or its offset)."""
    moment = dt.datetime.fromisoformat(iso_time)
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + (moment.tzname() or "")
