"""The Streamlit front end's pages and helpers; app.py and pages/ are thin shells over these."""
