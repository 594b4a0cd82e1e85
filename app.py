"""Streamlit front end: `streamlit run app.py`. A thin shell over the screener library (see screener/ui/)."""

from pathlib import Path

import streamlit as st

from screener.ui.state import attempt, current_screener
from screener.ui.views import list_age_banner, settings_panel

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="Forced-labour supplier screener", page_icon=":material/policy:", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "screen.py", title="Screen suppliers", icon=":material/upload_file:", default=True),
        st.Page(PAGES / "check.py", title="Check an entity", icon=":material/search:"),
        st.Page(PAGES / "sources.py", title="Data sources", icon=":material/database:"),
        st.Page(PAGES / "rules.py", title="Rules", icon=":material/gavel:"),
        st.Page(PAGES / "portfolios.py", title="Portfolios", icon=":material/folder_shared:"),
        st.Page(PAGES / "entity.py", title="Listed entity", icon=":material/badge:"),
    ]
)
st.sidebar.caption(
    "Screens suppliers against the UFLPA Entity List, CBP Withhold Release Orders and Findings and "
    "Xinjiang-related sanctions. A flag is a lead to investigate, not a legal determination."
)
settings_panel()
loaded = attempt("Cannot read the lists", current_screener)
if loaded is not None:
    list_age_banner(loaded.lists.snapshots)
navigation.run()
