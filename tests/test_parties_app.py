"""The web app's Screen page on a shipment file: every party screened, the row's verdict naming its party."""

from __future__ import annotations

import re

import polars as pl
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from tests.test_parties import SHIPMENTS


def test_a_shipment_upload_screens_every_party_and_names_the_party_behind_each_verdict(app_env):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.file_uploader(key="supplier_file").upload("shipments.csv", SHIPMENTS.write_csv().encode(), "text/csv")
    at.run()
    captions = [re.sub(r"\\(.)", r"\1", caption.value) for caption in at.caption]  # Markdown escapes removed
    assert any("every party is screened" in caption and "manufacturer (Manufacturer)" in caption for caption in captions)
    at.button(key="screen_button").click()
    at.run()
    assert not at.exception
    table = next(pl.from_pandas(frame.value) for frame in reversed(at.dataframe) if "main_reason" in frame.value.columns)
    critical = table.filter(pl.col("tier") == "critical")
    assert sorted(critical["supplier"]) == [
        "manufacturer: Hoshine Silicon Industry (Shanshan) Co Ltd", "manufacturer: Xinjiang Zhongtai Chemical Co Ltd",
    ]
    assert all(reason.startswith("manufacturer: ") for reason in critical["main_reason"])
