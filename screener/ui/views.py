"""Widgets shared by the pages: the verdict card, citations and candidate tables."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from screener.freshness import ages_line, with_ages
from screener.matching import MatchConfig
from screener.text import markdown_literal
from screener.ui.data import TIER_COLOURS, blank_missing, citation_lines, entity_link
from screener.ui.state import AS_OF_KEY, MATCH_KEY, REVIEW_KEY, session_settings

CANDIDATE_COLUMNS = {
    "score": st.column_config.NumberColumn("score", format="%.1f", help="Name similarity, 0-100"),
    "band": st.column_config.TextColumn("band", help="match: flagged; review: needs an analyst's look"),
    "entity": st.column_config.TextColumn("listed entity"),
    "matched_name": st.column_config.TextColumn("name variant matched"),
    "name_kind": st.column_config.TextColumn("variant kind"),
    "list": st.column_config.TextColumn("list"),
    "program": st.column_config.TextColumn("program / section"),
    "start_date": st.column_config.TextColumn("listed on"),
    "source_url": st.column_config.LinkColumn("source", display_text="open"),
    "explanation": st.column_config.TextColumn("why it matched", width="large"),
}


CANDIDATE_ORDER = (
    "score",
    "band",
    "entity",
    "matched_name",
    "explanation",
    "list",
    "program",
    "start_date",
    "source_url",
    "name_kind",
)


def settings_panel() -> None:
    """Sidebar controls for the thresholds and the list date every page screens with (as the CLI's options)."""
    defaults = MatchConfig()
    with st.sidebar.expander("Screening settings", expanded=False):
        st.slider("Match threshold", 50.0, 100.0, defaults.match_threshold, 0.5, key=MATCH_KEY,
                  help="Name score (0-100) from which a listed name is flagged (--match-threshold).")
        st.slider("Review threshold", 40.0, 100.0, defaults.review_threshold, 0.5, key=REVIEW_KEY,
                  help="Name score from which a listed name is shown for analyst review (--review-threshold).")
        st.date_input("Lists in force on", value=None, key=AS_OF_KEY, format="YYYY-MM-DD",
                      help="Leave empty for the latest lists; a date screens against the listings in force then (--as-of).")
        match, as_of = session_settings()
        if match.review_threshold > match.match_threshold:
            st.error("The review threshold must not be above the match threshold.", icon="⚠️")
        elif (match, as_of) != (defaults, None):
            st.caption(f"Screening with match {match.match_threshold}, review {match.review_threshold}"
                       + (f", lists in force on {as_of}" if as_of else "") + ".")


def tier_badge(tier: str, score: Any) -> None:
    """The tier as a coloured badge, with the risk score beside it."""
    st.badge(f"{tier.upper()} · risk score {score}", color=TIER_COLOURS.get(tier, "gray"))


def verdict_card(record: dict[str, Any], candidates: pl.DataFrame) -> None:
    """Tier, reasons, fired rules and citations of one supplier or checked entity."""
    with st.container(border=True):
        tier_badge(record["risk_tier"], record["risk_score"])
        if record.get("match_name"):
            st.markdown(
                f"Headline match (the listing behind the tier): **{markdown_literal(record['match_name'])}** on "
                f"{markdown_literal(record.get('match_list') or 'a list')} (name score {record.get('match_score')})"
                + (f" — [entity page]({entity_link(record['match_entity_id'])})" if record.get("match_entity_id") else "")
            )
        reasons = list(record.get("reasons") or [])
        st.markdown("\n".join(f"- {markdown_literal(reason)}" for reason in reasons) if reasons else "No rule fired.")
        if record.get("fired_rules"):
            st.caption(markdown_literal("Rules fired: " + ", ".join(record["fired_rules"])))
        citations = citation_lines(candidates)
        if citations:
            st.markdown("**Citations**\n" + "\n".join(f"- {line}" for line in citations))


def candidate_table(candidates: pl.DataFrame) -> None:
    """The candidate listings of one supplier with scores and explanations."""
    if candidates.is_empty():
        st.info("No listed name reached the review threshold.")
        return
    st.dataframe(
        blank_missing(candidates),
        hide_index=True,
        column_order=CANDIDATE_ORDER,
        column_config=CANDIDATE_COLUMNS,
        width="stretch",
    )


def list_age_banner(snapshots: pl.DataFrame) -> None:
    """The age of each list in the sidebar, and a warning with the refresh command for each list past the age limit."""
    aged = with_ages(snapshots.to_dicts())
    st.sidebar.caption(f"Lists in use: {ages_line(aged)}.")
    for snapshot in aged:
        if snapshot["age_warning"]:
            st.warning(snapshot["age_warning"], icon=":material/history:")
