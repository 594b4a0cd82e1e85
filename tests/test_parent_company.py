"""A supplier whose parent company is listed gets that listing, and the reason says the parent is listed."""

from pathlib import Path

from screener.columns import detect_columns
from screener.screening import screen_file
from screener.supplier_io import read_suppliers

FILE = """name,country,parent company
Riverside Weaving Plant No. 2,CN,Xinjiang Zhongtai Chemical Co. Ltd.
Sunny Garments,VN,
Lakeside Spinning,CN,Lakeside Spinning
"""


def test_parent_company_column_is_detected(tmp_path: Path):
    path = tmp_path / "facilities.csv"
    path.write_text(FILE, encoding="utf-8")
    mapping = detect_columns(read_suppliers(path))
    assert (mapping.name, mapping.parent) == ("name", "parent company")


def test_facility_whose_parent_is_listed_gets_the_listing(tmp_path: Path):
    path = tmp_path / "facilities.csv"
    path.write_text(FILE, encoding="utf-8")
    rows = screen_file(path, tmp_path / "screener.duckdb").rows
    first, foreign, own_parent = rows.to_dicts()
    assert first["risk_tier"] == "critical"
    assert "its parent company 'Xinjiang Zhongtai Chemical Co. Ltd.' (parent company listed)" in " | ".join(first["reasons"])
    assert foreign["risk_tier"] == "clear"
    assert own_parent["risk_tier"] == "low"
