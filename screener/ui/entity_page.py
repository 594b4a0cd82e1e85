"""Page: one listed entity — names in every script, addresses, listing, status in each snapshot, citations."""

from __future__ import annotations

import polars as pl
import streamlit as st

from screener.entity import entity_profile
from screener.text import markdown_literal
from screener.ui.data import source_links
from screener.ui.state import attempt, db_path

HISTORY_HEADERS = {
    "snapshot_id": "snapshot",
    "snapshot_as_of": "list as of",
    "snapshot_status": "snapshot state",
    "status": "status",
    "start_date": "listed",
    "end_date": "ended",
    "program": "section / program",
    "citation": "citation",
}


def render() -> None:
    st.title("Listed entity")
    entity_id = st.text_input(
        "Entity id", value=st.query_params.get("id", ""), placeholder="e.g. uflpa:1a2b3c4d5e6f",
        help="The match_entity_id of a report row, or the id of a candidate listing.",
    ).strip()
    if not entity_id:
        st.info("Open a listed entity from a match (Screen suppliers or Check an entity), or enter its id.")
        return
    st.query_params["id"] = entity_id
    profile = attempt("Cannot show this entity", lambda: entity_profile(db_path(), entity_id))
    if profile is None:
        return
    listing = profile.listing
    st.header(markdown_literal(listing["name"]))
    facts = [
        f"**{markdown_literal(listing['list_name'])}** — {markdown_literal(listing['program'] or 'no section given')}",
        f"listed {listing['start_date'] or 'date unknown'}" + (f", ended {listing['end_date']}" if listing["end_date"] else ""),
        f"status {markdown_literal(listing['status'] or 'not confirmed by the sources')}",
    ]
    if listing["includes_affiliates"]:
        facts.append("listed with its subsidiaries or affiliated entities")
    st.markdown(" · ".join(facts))
    st.caption(
        f"Id `{listing['entity_id']}` · {markdown_literal(listing['snapshot_title'] or listing['source'])}, "
        f"snapshot #{listing['snapshot_id']} as of {listing['snapshot_as_of'] or 'unknown'}"
    )
    names_cell, facts_cell = st.columns(2)
    with names_cell:
        st.subheader("Names")
        st.table(profile.names.select("name", "kind", "script").to_pandas().set_index("name"))
    with facts_cell:
        st.subheader("Addresses")
        st.markdown("\n".join(f"- {markdown_literal(address)}" for address in profile.addresses) or "None listed.")
        st.subheader("Citations")
        lines = [markdown_literal(text) for text in (listing["citation"], listing["sector"], listing["merchandise"],
                                                     listing["remarks"]) if text]
        links = source_links(listing["source_url"])
        st.markdown("\n".join(f"- {line}" for line in [*lines, *([links] if links else [])]) or "None recorded.")
    st.subheader("Status in each stored snapshot")
    history = profile.history.select(
        pl.format("#{}", "snapshot_id").alias("snapshot_id"),
        *(pl.col(column).cast(pl.String).fill_null("") for column in list(HISTORY_HEADERS)[1:]),
    ).rename(HISTORY_HEADERS)
    st.table(history.to_pandas().set_index("snapshot"))
