"""A corpus of the supplier files users really send, hostile and broken ones included.

Each entry is either readable (with the supplier names every reader must keep, in order) or refused
(with the words its one-line error must contain).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import xlsxwriter

NAMES = ["新疆中泰化学股份有限公司", "Camel Group Co., Ltd.", "Société Générale Textiles", "台灣紡織股份有限公司"]
HEADER = ["Supplier Name", "Country", "Address"]
ROWS = [[name, "CN", f"Road {number}"] for number, name in enumerate(NAMES, start=1)]


@dataclass(frozen=True)
class BadInput:
    """One corpus file: how to make it, and what reading it must give."""

    filename: str
    make: Callable[[], bytes]
    names: list[str | None] | None = None
    error: str | None = None
    isolate: bool = False  # read in a child process: a regression here would abort the reader, not raise
    repairs: tuple[str, ...] = ()  # the start of each repair line reading it must report


def delimited(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def workbook(sheets: dict[str, list[list[object]]], title_row: str | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for sheet_name, rows in sheets.items():
        sheet = book.add_worksheet(sheet_name)
        offset = 0
        if title_row is not None and rows:
            sheet.merge_range(0, 0, 0, len(rows[0]) - 1, title_row)
            offset = 1
        for number, row in enumerate(rows):
            sheet.write_row(number + offset, 0, row)
    book.close()
    return buffer.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKBOOK_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_PACKAGE}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}/relationships"><Relationship Id="rId1" '
    f'Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><sheets>'
    '<sheet name="Suppliers" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def cell(ref: str, text: str) -> str:
    attribute = f' r="{ref}"' if ref else ""
    return f'<c{attribute} t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_rows(rows: list[list[str]], refs: bool = True, first_row: int = 1) -> str:
    """sheetData rows of inline strings, with or without the r= references writers usually give."""
    xml = []
    for number, row in enumerate(rows, start=first_row):
        cells = "".join(cell(f"{chr(65 + column)}{number}" if refs else "", text) for column, text in enumerate(row))
        xml.append(f'<row r="{number}">{cells}</row>' if refs else f"<row>{cells}</row>")
    return "".join(xml)


def hand_made_workbook(sheet_data: str, *, dimension: str = "A1", unique_strings: int = 1,
                       padding: int = 0) -> bytes:
    """A minimal XLSX written part by part, so that its sizes, references and counts can be made to lie."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in _WORKBOOK_PARTS.items():
            archive.writestr(name, xml)
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}" count="{unique_strings}" '
                         f'uniqueCount="{unique_strings}"><si><t>unused</t></si></sst>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{_MAIN}"><dimension ref="{dimension}"/><sheetData>'.encode())
            for _ in range(padding // 2**20):
                sheet.write(b" " * 2**20)
            sheet.write(f"{sheet_data}</sheetData></worksheet>".encode())
    return buffer.getvalue()


def shrunk_size_claim(data: bytes, part: str) -> bytes:
    """The workbook with one part claiming to inflate to 1 byte (a zip bomb hiding its size)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(part)
    actual = info.file_size.to_bytes(4, "little")
    return data.replace(actual, (1).to_bytes(4, "little"))


LATIN_NAMES = ["Société Générale Textiles", "Müller Baumwolle GmbH", "Åsa Garn AB"]
BIG5_NAMES = ["台灣紡織股份有限公司", "遠東新世紀股份有限公司", "南亞塑膠工業股份有限公司"]
CYRILLIC_NAMES = ["ТОО Казахстан Текстиль", "ООО Хлопковая Компания"]
JAPANESE_NAMES = ["株式会社ユニクロ", "トヨタ紡織株式会社"]
LONG_NAME = "Xinjiang " + "Cotton " * 1428
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+SUM(A1:A9)", "-2+3", "@cmd", "<script>alert(1)</script>"]
SUPPLIERS_SHEET = [HEADER, *ROWS]
SIX = [*NAMES, "Hotan Cotton Mill", "Aksu Spinning Co"]
SIX_ROWS = "".join(f'"{name}",CN,Road{ending}' for name, ending in zip(SIX, ["\r\n", "\r", "\r\n", "\r", "\r\n", "\r"], strict=True))
STRAY_QUOTES = ['Al"pha "Best" Co', '=HYPERLINK("http://evil.example"', 'Beta Co']
FAR_CELL = cell("XFD1048576", "note")
ODD = ["Kashgar\x07 Textile\x1b Mill", "Cotton 🧶 Traders 🇨🇳", "\u202eevil\u202c Ltd", "Tab\tInside Co"]

CORPUS: list[BadInput] = [
    BadInput("empty.csv", lambda: b"", error="is empty"),
    BadInput("whitespace_only.csv", lambda: b"  \r\n\r\n ", error="is empty"),
    BadInput("header_only.csv", lambda: delimited([]), error="a header but no rows"),
    BadInput("no_name_column.csv", lambda: delimited([["a", "b"]], header=["Foo", "Bar"]), error="Foo"),
    BadInput("image.csv", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, error="PNG image"),
    BadInput("program.csv", lambda: b"\x7fELF\x02\x01\x01" + bytes(200), error="executable"),
    BadInput("random_binary.csv", lambda: bytes(range(256)) * 8, error="binary file"),
    BadInput("utf8.csv", lambda: delimited(ROWS), names=NAMES),
    BadInput("utf8_bom.csv", lambda: delimited(ROWS, encoding="utf-8-sig"), names=NAMES),
    BadInput("excel_unicode_text.txt", lambda: delimited(ROWS, "\t", "utf-16"), names=NAMES),
    BadInput("gb18030.csv", lambda: delimited([r for r in ROWS if r[0] != NAMES[2]], encoding="gb18030"),
             names=[NAMES[0], NAMES[1], NAMES[3]]),
    BadInput("gbk.csv", lambda: delimited(ROWS[:2], encoding="gbk"), names=NAMES[:2]),
    BadInput("big5.csv", lambda: delimited([[n, "TW", "台北市"] for n in BIG5_NAMES], encoding="big5"), names=BIG5_NAMES),
    BadInput("latin1.csv", lambda: delimited([[n, "FR", "Rue de Lyon"] for n in LATIN_NAMES], encoding="latin-1"),
             names=LATIN_NAMES),
    BadInput("cp1251.csv", lambda: delimited([[n, "KZ", "Алматы"] for n in CYRILLIC_NAMES], encoding="cp1251"),
             names=CYRILLIC_NAMES),
    BadInput("shift_jis.csv", lambda: delimited([[n, "JP", "東京都"] for n in JAPANESE_NAMES], encoding="shift_jis"),
             names=JAPANESE_NAMES),
    BadInput("semicolon.csv", lambda: delimited(ROWS, ";"), names=NAMES),
    BadInput("tab.tsv", lambda: delimited(ROWS, "\t"), names=NAMES),
    BadInput("quoted_newlines.csv", lambda: delimited([["Line One\nLine Two Co", "CN", "Unit 5,\nUrumqi"], *ROWS]),
             names=["Line One\nLine Two Co", *NAMES]),
    BadInput("ragged.csv", lambda: b"Supplier Name,Country,Address\nAlpha Co,CN\nBeta Co,CN,Road 1,extra\nGamma Co\n",
             names=["Alpha Co", "Beta Co", "Gamma Co"], repairs=("line 3: 4 fields",)),
    BadInput("duplicate_headers.csv", lambda: delimited(ROWS, header=["Supplier Name", "Country", "Country"]),
             names=NAMES),
    BadInput("blank_names.csv", lambda: delimited([["", "CN", "Urumqi"], ["   ", "CN", "Hotan"], *ROWS]),
             names=[None, None, *NAMES]),
    BadInput("long_name.csv", lambda: delimited([[LONG_NAME, "CN", "x"], *ROWS]), names=[LONG_NAME, *NAMES]),
    BadInput("control_and_emoji.csv", lambda: delimited([[n, "CN", "x"] for n in ODD]),
             names=ODD),
    BadInput("formula_injection.csv", lambda: delimited([[n, "CN", "=1+1"] for n in HOSTILE]), names=HOSTILE),
    BadInput("several_sheets.xlsx", lambda: workbook({"Notes": [], "Suppliers": [HEADER, *ROWS]}), names=NAMES),
    BadInput("merged_title.xlsx", lambda: workbook({"Suppliers": [HEADER, *ROWS]}, title_row="Approved suppliers"),
             names=NAMES),
    BadInput("truncated.xlsx", lambda: workbook({"Suppliers": [HEADER, *ROWS]})[:300], error="not a readable spreadsheet"),
    # Workbooks whose claims would make the reader allocate hundreds of GB (issue 14, class 1)
    BadInput("far_corner_dimension.xlsx", lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET),
                                                                      dimension="A1:XFD1048576"),
             names=NAMES, isolate=True),
    BadInput("no_cell_references.xlsx", lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET, refs=False)),
             names=NAMES, isolate=True),
    BadInput("far_corner_cell.xlsx", lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET) + FAR_CELL),
             error="1,048,576 rows by 16,384 columns", isolate=True),
    BadInput("far_corner_unreferenced.xlsx",
             lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET) + f"<row>{'<c/>' * 16383}{cell('', 'x')}</row>"
                                        + '<row r="1048576">' + cell("", "y") + "</row>"),
             error="cannot be read safely", isolate=True),
    BadInput("row_four_billion.xlsx", lambda: hand_made_workbook(sheet_rows([HEADER]) + sheet_rows(ROWS, first_row=4 * 10**9)),
             error="beyond Excel's last row", isolate=True),
    BadInput("shared_strings_four_billion.xlsx",
             lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET), unique_strings=4 * 10**9),
             error="4,000,000,000 shared strings", isolate=True),
    BadInput("column_zzzzz.xlsx", lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET) + cell("ZZZZZ4", "x")),
             error="beyond Excel's last column", isolate=True),
    BadInput("whitespace_bomb.xlsx", lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET), padding=300 * 2**20),
             error="MB allowed", isolate=True),
    BadInput("hidden_size_bomb.xlsx",
             lambda: shrunk_size_claim(hand_made_workbook(sheet_rows(SUPPLIERS_SHEET), padding=2**20),
                                       "xl/worksheets/sheet1.xml"),
             error="not a readable spreadsheet", isolate=True),
    # Line endings: a lone \r between records is a record break, never data (class 3)
    BadInput("mixed_line_endings.csv", lambda: ("Supplier Name,Country,Address\r\n" + SIX_ROWS).encode(), names=SIX),
    BadInput("cr_only.csv", lambda: delimited(ROWS).replace(b"\r\n", b"\r"), names=NAMES),
    BadInput("unclosed_quote.csv", lambda: b'Supplier Name,Country\r\n"Alpha Co,CN\r\nBeta Co,CN\r\nGamma Co,CN\r\n',
             error="a quote opened on line 2 may never be closed"),
    # A few bad bytes or rows: read the rest, report the rows repaired (class 4)
    BadInput("nul_in_one_name.csv", lambda: delimited(ROWS).replace(b"Camel", b"Ca\x00mel"), names=NAMES,
             repairs=("line 3: NUL",)),
    BadInput("quote_inside_unquoted_field.csv",
             lambda: b'Supplier Name,Country\nAl"pha "Best" Co,CN\n=HYPERLINK("http://evil.example","y"),CN\nBeta Co,CN\n',
             names=STRAY_QUOTES, repairs=("line 3: 3 fields",)),
    # Headers: wide files, case-duplicates and control characters (classes 5 and 8)
    BadInput("two_hundred_thousand_columns.csv",
             lambda: delimited(ROWS, header=HEADER + [f"extra {number}" for number in range(200_000)]),
             error="200,003 columns"),
    BadInput("case_duplicate_headers.csv", lambda: delimited(ROWS, header=["Supplier Name", "COUNTRY", "country"]),
             names=NAMES),
    BadInput("control_in_header.csv", lambda: delimited(ROWS, header=["Supplier\x07 Name", "Country", "Addr\x1bess"]),
             names=NAMES),
]


@dataclass(frozen=True)
class BadRules:
    """One hostile rules file (--rules, or a web upload) and the words its one-line refusal must contain."""

    filename: str
    make: Callable[[], bytes]
    error: str


RULE_HEAD = b"[[rule]]\nid = 'custom-x'\ntitle = 'x'\ntier = 'high'\nweight = 10\nkind = 'list_match'\n"
RULES_CORPUS = [
    BadRules("deep_dotted_key.toml", lambda: RULE_HEAD + b"when." + b"a." * 50_000 + b"b = 1\n", "dotted parts"),
    BadRules("deep_table_header.toml", lambda: b"[" + b"a." * 40 + b"b]\nx = 1\n", "dotted parts"),
    BadRules("deep_nesting.toml", lambda: b"x = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nested too deeply"),
    BadRules("long_reason.toml", lambda: RULE_HEAD + b"reason = '" + b"x" * 200_000 + b"'\n", "at most 2,000"),
    BadRules("over_size.toml", lambda: b"# padding\n" * 30_000, "256 KB"),
    BadRules("not_utf8.toml", lambda: "id = 'é'".encode("latin-1"), "not UTF-8"),
]
