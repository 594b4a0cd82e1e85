"""Session state, the cached Screener and error display shared by every page."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st

from screener.errors import USER_ERRORS, first_line
from screener.matching import MatchConfig
from screener.paths import default_db_path
from screener.rules import RuleSet, load_rules
from screener.screening import ScreenConfig, Screener
from screener.text import markdown_literal

T = TypeVar("T")
RULES_KEY = "custom_rules"
MATCH_KEY = "setting_match_threshold"
REVIEW_KEY = "setting_review_threshold"
AS_OF_KEY = "setting_as_of"


def db_path() -> Path:
    """The database the app reads: $SCREENER_DB, else the user's data directory."""
    return default_db_path(None)


@st.cache_resource(show_spinner="Loading the lists and building the name index…", max_entries=4)
def base_screener(database: str, match: MatchConfig, as_of: dt.date | None = None) -> Screener:
    """The lists and matcher for one database, thresholds and list date, built once and shared by every session."""
    return Screener.from_db(Path(database), ScreenConfig(match=match, as_of=as_of))


def session_settings() -> tuple[MatchConfig, dt.date | None]:
    """This session's thresholds and list date (the defaults until the user changes them in the sidebar)."""
    defaults = MatchConfig()
    match = MatchConfig(
        match_threshold=float(st.session_state.get(MATCH_KEY, defaults.match_threshold)),
        review_threshold=float(st.session_state.get(REVIEW_KEY, defaults.review_threshold)),
    )
    return match, st.session_state.get(AS_OF_KEY)


def current_screener() -> Screener:
    """The shared Screener for this session's settings, with its custom rules when the user uploaded some."""
    base = base_screener(str(db_path()), *session_settings())
    custom = st.session_state.get(RULES_KEY)
    if not custom:
        return base
    return with_ruleset(base, custom["ruleset"], custom["paths"])


def with_ruleset(base: Screener, ruleset: RuleSet, paths: tuple[Path, ...]) -> Screener:
    """A Screener sharing the cached lists and matcher but evaluating another rule set."""
    variant = copy.copy(base)
    variant.config = dataclasses.replace(base.config, rules_files=paths)
    variant.ruleset = ruleset
    return variant


def reload_lists() -> None:
    """Forget the cached lists so the next page run reads the database again (after an ingest)."""
    base_screener.clear()


def apply_custom_rules(file_name: str, content: bytes) -> RuleSet:
    """Validate an uploaded rules file and use it, on top of the built-in rules, for this session."""
    safe_name = re.sub(r"[^\w.-]", "_", Path(file_name).name) or "rules.toml"
    with tempfile.TemporaryDirectory(prefix="screener-rules-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(content)
        ruleset = load_rules([path])
    st.session_state[RULES_KEY] = {"name": file_name, "paths": (Path(safe_name),), "ruleset": ruleset}
    return ruleset


def clear_custom_rules() -> None:
    st.session_state.pop(RULES_KEY, None)


def attempt(action: str, work: Callable[[], T]) -> T | None:
    """Run library work; when it fails for a reason the user can fix, show that in one line and return None.

    Any other exception is a bug and reaches Streamlit, which shows it as one.
    """
    try:
        return work()
    except USER_ERRORS as error:
        st.error(markdown_literal(f"{action}: {first_line(error)}"), icon="⚠️")
        return None
