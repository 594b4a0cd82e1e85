"""A corpus of the supplier files users really send, hostile and broken ones included.

Each entry is either readable (with the supplier names every reader must keep, in order) or refused
(with the words its one-line error must contain).
"""

from __future__ import annotations

import csv
import io
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


LATIN_NAMES = ["Société Générale Textiles", "Müller Baumwolle GmbH", "Åsa Garn AB"]
BIG5_NAMES = ["台灣紡織股份有限公司", "遠東新世紀股份有限公司", "南亞塑膠工業股份有限公司"]
CYRILLIC_NAMES = ["ТОО Казахстан Текстиль", "ООО Хлопковая Компания"]
JAPANESE_NAMES = ["株式会社ユニクロ", "トヨタ紡織株式会社"]
LONG_NAME = "Xinjiang " + "Cotton " * 1428
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+SUM(A1:A9)", "-2+3", "@cmd", "<script>alert(1)</script>"]
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
             names=["Alpha Co", "Beta Co", "Gamma Co"]),
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
]
