"""Page: check one entity by name (any script), with optional country and address."""

from __future__ import annotations

import streamlit as st

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
    st.markdown(f"**Top candidates** ({min(candidates.height, TOP_CANDIDATES)} of {candidates.height})")
    candidate_table(candidates.head(TOP_CANDIDATES))
