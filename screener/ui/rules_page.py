"""Page: the active rules as a table, and a custom rules file for this session."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from screener.rules import RuleSet, load_rules
from screener.ui.state import RULES_KEY, apply_custom_rules, attempt, clear_custom_rules

UPLOADER_KEY = "rules_uploader_generation"
ROW_HEIGHT = 35
RULE_COLUMNS = {
    "id": st.column_config.TextColumn("rule"),
    "title": st.column_config.TextColumn("what it flags", width="large"),
    "tier": st.column_config.TextColumn("tier"),
    "weight": st.column_config.NumberColumn("weight"),
    "condition": st.column_config.TextColumn("condition", width="medium"),
    "basis": st.column_config.TextColumn("legal basis", width="large"),
    "origin": st.column_config.TextColumn("from"),
}


def rules_table(ruleset: RuleSet) -> pl.DataFrame:
    """One readable row per active rule: id, title, tier, weight, condition and legal basis."""
    return pl.DataFrame(
        [
            {
                "id": rule.id,
                "title": rule.title,
                "tier": rule.tier,
                "weight": rule.weight,
                "condition": "; ".join([rule.kind, *(f"{key} = {value}" for key, value in rule.when.items())]),
                "basis": rule.basis,
                "origin": Path(rule.origin).name if rule.origin else "",
            }
            for rule in ruleset.rules
        ],
        schema={
            "id": pl.String,
            "title": pl.String,
            "tier": pl.String,
            "weight": pl.Float64,
            "condition": pl.String,
            "basis": pl.String,
            "origin": pl.String,
        },
    )


def render() -> None:
    st.title("Rules")
    custom = st.session_state.get(RULES_KEY)
    ruleset = custom["ruleset"] if custom else attempt("Cannot read the built-in rules", load_rules)
    if ruleset is None:
        return
    st.caption(
        f"Rules version {ruleset.version}" + (f", with {custom['name']} added for this session" if custom else "")
    )
    table = rules_table(ruleset)
    st.dataframe(table, hide_index=True, column_config=RULE_COLUMNS, height=ROW_HEIGHT * (table.height + 1) + 3)
    st.subheader("Custom rules for this session")
    st.caption(
        "A TOML file with [[rule]] tables adds rules, overrides a built-in rule by reusing its id, or switches one "
        "off with enabled = false (see rules/builtin.toml). It applies to your screenings and checks until you "
        "remove it or close the session."
    )
    generation = st.session_state.setdefault(UPLOADER_KEY, 0)
    upload = st.file_uploader("Rules file (TOML)", type=["toml"], key=f"rules_file_{generation}")
    if upload is not None and (not custom or custom.get("file_id") != upload.file_id):
        applied = attempt(f"Cannot use {upload.name}", lambda: apply_custom_rules(upload.name, upload.getvalue()))
        if applied is not None:
            st.session_state[RULES_KEY]["file_id"] = upload.file_id
            st.rerun()
    if custom and st.button("Use the built-in rules only", key="builtin_rules_button"):
        clear_custom_rules()
        st.session_state[UPLOADER_KEY] = generation + 1
        st.rerun()
