"""The Streamlit front end's pages and helpers; app.py and app_pages/ are thin shells over these."""
