"""Page: the active rules as a table, and a custom rules file for this session."""

from __future__ import annotations

import dataclasses

import polars as pl
import streamlit as st

from screener.rules import RuleSet, load_rules
from screener.ui.state import RULES_KEY, apply_custom_rules, attempt, clear_custom_rules


def rules_table(ruleset: RuleSet) -> pl.DataFrame:
    """One row per rule with its fields as text."""
    rows = [
        {key: value if isinstance(value, (str, int, float)) else str(value) for key, value in dataclasses.asdict(rule).items()}
        for rule in ruleset.rules
    ]
    return pl.DataFrame(rows)


def render() -> None:
    st.title("Rules")
    custom = st.session_state.get(RULES_KEY)
    ruleset = custom["ruleset"] if custom else attempt("Cannot read the built-in rules", load_rules)
    if ruleset is None:
        return
    st.caption(f"Rules version {ruleset.version}" + (f", with {custom['name']} added for this session" if custom else ""))
    st.dataframe(rules_table(ruleset), hide_index=True)
    st.subheader("Custom rules for this session")
    upload = st.file_uploader("Rules file (TOML)", type=["toml"], key="rules_file")
    if upload is not None and (not custom or custom.get("file_id") != upload.file_id):
        applied = attempt(f"Cannot use {upload.name}", lambda: apply_custom_rules(upload.name, upload.getvalue()))
        if applied is not None:
            st.session_state[RULES_KEY]["file_id"] = upload.file_id
            st.rerun()
    if custom and st.button("Use the built-in rules only"):
        clear_custom_rules()
        st.rerun()
