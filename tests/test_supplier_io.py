"""Reading supplier files in the encodings, delimiters and formats users send."""

import csv
import io
import zipfile

import polars as pl
import pytest
import xlsxwriter

from screener.columns import detect_columns
from screener.supplier_io import InputFileError, read_suppliers

ROWS = [("新疆中泰化学股份有限公司", "中国"), ("Camel Group Co., Ltd.", "CN")]


def csv_bytes(delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(("供应商名称", "国家"))
    writer.writerows(ROWS)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_chinese_csv_in_common_encodings(tmp_path, encoding):
    path = tmp_path / "suppliers.csv"
    path.write_bytes(csv_bytes(encoding=encoding))
    frame = read_suppliers(path)
    assert frame.columns == ["source_row", "供应商名称", "国家"]
    assert frame["供应商名称"].to_list() == [name for name, _ in ROWS]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    path = tmp_path / "suppliers.csv"
    path.write_bytes(csv_bytes(delimiter=delimiter))
    assert read_suppliers(path).drop("source_row").shape == (2, 2)


def test_quoted_newlines_and_ragged_rows_are_kept(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text('name,address\n"Alpha Co.","Line 1\nLine 2"\nBeta Co.\n"Gamma Co.",Urumqi\n', encoding="utf-8")
    frame = read_suppliers(path)
    assert frame["name"].to_list() == ["Alpha Co.", "Beta Co.", "Gamma Co."]
    assert frame["address"][0] == "Line 1\nLine 2"


def test_xlsx_first_non_empty_sheet_and_named_sheet(tmp_path):
    path = tmp_path / "suppliers.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Cover")
    data = workbook.add_worksheet("Suppliers")
    data.write_row(0, 0, ["Vendor Name", "Country"])
    data.write_row(1, 0, ["Hoshine Silicon Industry Co., Ltd.", "CN"])
    other = workbook.add_worksheet("Other")
    other.write_row(0, 0, ["Company"])
    other.write_row(1, 0, ["Other Co."])
    workbook.close()
    assert read_suppliers(path)["Vendor Name"].to_list() == ["Hoshine Silicon Industry Co., Ltd."]
    assert read_suppliers(path, sheet="Other")["Company"].to_list() == ["Other Co."]
    with pytest.raises(InputFileError, match="no sheet 'Missing'"):
        read_suppliers(path, sheet="Missing")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"name,country\n", "header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF document"),
    ],
)
def test_unreadable_files_get_one_clear_message(tmp_path, content, message):
    path = tmp_path / "suppliers.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        read_suppliers(path)


def ods_bytes(rows: list[list[str]]) -> bytes:
    """A minimal OpenDocument spreadsheet (as LibreOffice or Google Sheets export) with one sheet."""
    cells = "".join(
        "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>' for value in row
        ) + "</table:table-row>" for row in rows
    )
    office = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}:office:1.0" '
        f'xmlns:table="{office}:table:1.0" xmlns:text="{office}:text:1.0" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Suppliers">{cells}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{office}:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def test_an_ods_spreadsheet_is_read_like_a_workbook(tmp_path):
    path = tmp_path / "suppliers.ods"
    path.write_bytes(ods_bytes([["Vendor Name", "Country"], [ROWS[0][0], "CN"]]))
    frame = read_suppliers(path)
    assert frame.select("source_sheet", "source_row", "Vendor Name").rows() == [("Suppliers", 2, ROWS[0][0])]


def test_an_apple_numbers_file_gets_advice_to_export_it(tmp_path):
    path = tmp_path / "suppliers.numbers"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(InputFileError, match="Apple Numbers file.*Export To > CSV"):
        read_suppliers(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_suppliers(tmp_path / "absent.csv")


def test_blank_and_duplicate_headers_get_distinct_names(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text("name,name, \nAlpha,Beta,Gamma\n", encoding="utf-8")
    frame = read_suppliers(path)
    assert len(set(frame.columns)) == 4
    assert frame.row(0) == (2, "Alpha", "Beta", "Gamma")


def test_each_supplier_keeps_the_row_number_a_spreadsheet_shows_it_at(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text('name,address,source_row\n"Alpha","Line 1\nLine 2",a\n,,\nBeta,Urumqi,b\n', encoding="utf-8")
    frame = read_suppliers(path)
    assert frame.select("source_row", "name", "source_row_input").rows() == [(2, "Alpha", "a"), (4, "Beta", "b")]


def test_workbook_rows_count_title_rows_blank_rows_and_the_sheet(tmp_path):
    path = tmp_path / "suppliers.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Cover")
    data = workbook.add_worksheet("Tier 2")
    data.write(2, 1, "Supplier list, third quarter")
    data.write_row(4, 1, ["Vendor Name", "Country"])
    data.write_row(5, 1, ["Alpha Co.", "CN"])
    data.write_row(7, 1, ["Beta Co.", "DE"])
    workbook.close()
    frame = read_suppliers(path)
    assert frame.select("source_sheet", "source_row", "Vendor Name").rows() == [
        ("Tier 2", 6, "Alpha Co."), ("Tier 2", 8, "Beta Co."),
    ]


def test_bytes_upload_is_read_like_a_file():
    frame = read_suppliers(csv_bytes(), filename="upload.csv")
    assert frame.height == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Supplier Name", "Country", "Address"], {"name": "Supplier Name", "country": "Country", "address": "Address"}),
        (["vendor_name", "country_code", "street_address"], {"name": "vendor_name", "country": "country_code",
                                                             "address": "street_address"}),
        (["供应商名称", "国家", "地址", "统一社会信用代码"], {"name": "供应商名称", "country": "国家", "address": "地址",
                                                 "uscc": "统一社会信用代码"}),
        (["os_id", "name", "address", "country_code", "country_name", "sector", "parent_company", "product_type"],
         {"name": "name", "country": "country_code", "address": "address", "product": "product_type",
          "parent": "parent_company"}),
        (["Company", "HTS Code", "Goods Description"], {"name": "Company", "hs_code": "HTS Code",
                                                        "product": "Goods Description"}),
    ],
)
def test_columns_are_detected_from_common_headers(headers, expected):
    mapping = detect_columns(pl.DataFrame({header: ["x"] for header in headers})).as_dict()
    assert {role: column for role, column in mapping.items() if column} == expected


def test_no_name_column_lists_the_headers_found():
    with pytest.raises(InputFileError, match=r"no supplier-name column found; the columns are: 'sku', 'qty'"):
        detect_columns(pl.DataFrame({"sku": ["1"], "qty": ["2"]}))


def test_user_named_column_must_exist():
    with pytest.raises(InputFileError, match="no column 'Firma'"):
        detect_columns(pl.DataFrame({"Company": ["x"]}), name="Firma")
