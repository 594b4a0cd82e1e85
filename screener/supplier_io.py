"""Reading supplier files (CSV in any common encoding and delimiter, XLSX) into frames of strings."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import polars as pl

from screener.errors import first_line
from screener.files import FileLimitError, read_limited
from screener.text import visible
from screener.workbook_limits import WorkbookTooLarge, check_workbook

MAX_FILE_BYTES = 200 * 1024**2
MAX_COLUMNS = 1_000
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
}
_DELIMITERS = ",;\t|"
HEADER_SEARCH_ROWS = 10
SNIFF_CHARS = 64_000
SNIFF_RECORDS = 50
BINARY_SNIFF_BYTES = 4096
BINARY_CONTROL_SHARE = 0.02  # text with a stray control byte or two is repaired, not refused
BINARY_CONTROL_BYTES = 16
_CONTROL_BYTES = [bytes([code]) for code in (*range(0, 9), 11, 12, *range(14, 27), *range(28, 32))]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Legacy encodings supplier files arrive in when not UTF-8: Chinese (mainland, Taiwan/HK), Western and
# Cyrillic Windows code pages, Japanese and Korean. Half-width katakana marks a GB file misread as Shift-JIS.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252", "cp1251", "shift_jis", "euc_kr")
_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]{3}")


SOURCE_ROW = "source_row"
SOURCE_SHEET = "source_sheet"
SOURCE_COLUMNS = (SOURCE_SHEET, SOURCE_ROW)


class InputFileError(ValueError):
    """A supplier file that cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class SupplierTable:
    """A supplier file read into a frame of strings, and the rows that needed repair (one line each)."""

    frame: pl.DataFrame
    repairs: tuple[str, ...] = ()


def read_suppliers(source: str | Path | bytes, *, filename: str = "", sheet: str | None = None) -> pl.DataFrame:
    """Read a supplier CSV or spreadsheet (path or bytes) into a frame whose columns are all strings
    (see read_supplier_table)."""
    return read_supplier_table(source, filename=filename, sheet=sheet).frame


def read_supplier_table(source: str | Path | bytes, *, filename: str = "", sheet: str | None = None) -> SupplierTable:
    """Read a supplier file, repairing the rows that can be repaired and saying which.

    The file's own columns come with `source_row`, the row number a spreadsheet program shows for each
    supplier (header, title and blank rows counted), and for workbooks `source_sheet`; a file column of the
    same name is kept as `<name>_input`.
    """
    if isinstance(source, (str, Path)):
        filename = filename or Path(source).name
        try:
            data = read_limited(Path(source), MAX_FILE_BYTES, "supplier list (CSV or XLSX)")
        except FileLimitError as error:
            raise InputFileError(str(error)) from error
    else:
        data = source
    label = filename or "the uploaded file"
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(f"{label} holds more than {MAX_FILE_BYTES // 1024**2} MB, the limit for a supplier list")
    if not data.strip():
        raise InputFileError(f"{label} is empty: it has no header and no rows")
    if filename.lower().endswith(".numbers"):
        raise InputFileError(
            f"{label} is an Apple Numbers file, which cannot be read: in Numbers choose File > Export To > CSV "
            "(or Excel) and screen that file"
        )
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or filename.lower().endswith(EXCEL_SUFFIXES):
        table = SupplierTable(_read_spreadsheet(data, label, sheet))
    else:
        _refuse_binary(data, label)
        table = _read_delimited(_decode(data, label), label)
    return SupplierTable(_tidy(table.frame, label), table.repairs)


def with_source_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with integer SOURCE_ROW numbers; a frame not read from a file counts as a table with its header on
    row 1 (first supplier on row 2)."""
    if SOURCE_ROW in frame.columns:
        return frame.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64, strict=False))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def _refuse_binary(data: bytes, label: str) -> None:
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputFileError(f"{label} is {kind}, not a CSV or XLSX supplier list")
    sample = data[:BINARY_SNIFF_BYTES]
    controls = sum(sample.count(byte) for byte in _CONTROL_BYTES)
    if controls > max(BINARY_CONTROL_BYTES, BINARY_CONTROL_SHARE * len(sample)) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{label} is a binary file, not a CSV or XLSX supplier list")


def _decode(data: bytes, label: str) -> str:
    """Decode text by BOM, then UTF-8, then the most likely legacy encoding."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS))
    plausible = [match for match in matches if not _HALFWIDTH_KANA.search(str(match))]
    if not plausible:
        raise InputFileError(f"{label}: cannot tell its text encoding; save it as UTF-8 CSV and try again")
    return data.decode(plausible[0].encoding, errors="replace")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records (quotes respected) into the most consistent, widest rows."""
    sample = text[:SNIFF_CHARS]
    return max(_DELIMITERS, key=lambda delimiter: _split_quality(sample, delimiter, whole=len(text) <= SNIFF_CHARS))


def _split_quality(sample: str, delimiter: str, whole: bool) -> tuple[float, int]:
    """Share of sampled records as wide as the header, and the header's width (0, 0 when it has one column)."""
    try:
        records = list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter),
                                        SNIFF_RECORDS + 1))
    except csv.Error:
        return 0.0, 0
    if not whole and len(records) > 1:
        records = records[:-1]
    width = len(records[0]) if records else 0
    if width < 2:
        return 0.0, 0
    consistent = sum(len(record) == width for record in records if record)
    return consistent / len(records), width


def _read_delimited(text: str, label: str) -> SupplierTable:
    """Records split by the csv module (any line ending outside quotes; a quote inside a field kept as text),
    counted again without it, padded or cut to the header's width; NUL characters removed and reported."""
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, lines, rows = [], [], []
    for row, record in enumerate(reader, start=1):
        if record:
            records.append(record)
            lines.append(reader.line_num)
            rows.append(row)
    _cross_check(text, delimiter, records, lines, label)
    header, body = records[0], records[1:]
    width = _checked_width(len(header), label)
    repairs = [(line, f"{len(record)} fields where the header has {width}; the last {len(record) - width} dropped "
               "(a delimiter inside an unquoted field?)")
               for record, line in zip(body, lines[1:], strict=True) if len(record) > width]
    cells = [record[:width] + [""] * (width - len(record)) for record in body]
    frame = pl.DataFrame(cells, schema=dict.fromkeys(_distinct(header), pl.String), orient="row")
    frame = frame.with_columns(pl.all().replace("", None))
    nul = frame.select(pl.any_horizontal(pl.all().str.contains("\x00", literal=True)).alias("nul"))["nul"]
    repairs += [(lines[1 + index], "NUL character(s) removed") for index in nul.arg_true().to_list()]
    frame = frame.with_columns(pl.all().str.replace_all("\x00", "", literal=True))
    frame = _numbered(frame, pl.Series(rows[1:], dtype=pl.Int64))
    return SupplierTable(frame, tuple(f"line {line}: {what}" for line, what in sorted(repairs)))


def _checked_width(width: int, label: str) -> int:
    if width > MAX_COLUMNS:
        raise InputFileError(f"{label} has {width:,} columns; a supplier list may have at most {MAX_COLUMNS:,}: "
                             "keep the supplier columns and try again")
    return width


def _cross_check(text: str, delimiter: str, records: list[list[str]], lines: list[int], label: str) -> None:
    """Refuse when the csv module read fewer records than an independent count of the file's record lines."""
    quoted = re.compile(rf'(?:^|(?<=[{re.escape(delimiter)}\r\n]))"(?:[^"]|"")*"')
    physical = _LINE_BREAK.split(quoted.sub("x", text))
    expected = len(physical) - physical.count("")
    if len(records) == expected:
        return
    starts = [1, *(line + 1 for line in lines[:-1])]
    opened = next((start for record, start in zip(records, starts, strict=True)
                   if any("\n" in field or "\r" in field for field in record)), None)
    where = f" a quote opened on line {opened} may never be closed;" if opened else ""
    raise InputFileError(
        f"{label}: {len(records) - 1:,} rows were read but the file has {expected - 1:,} lines of rows;{where} "
        "fix the file and try again rather than screen fewer suppliers"
    )


def sheet_names(data: bytes, *, filename: str = "") -> list[str]:
    """The sheets of a workbook; InputFileError when it cannot be opened safely."""
    return list(_open_workbook(data, filename or "the uploaded file").sheet_names)


def _open_workbook(data: bytes, label: str):  # -> fastexcel.ExcelReader, imported lazily
    import fastexcel

    if data.startswith(_ZIP_MAGIC):
        _check_workbook(data, label)
    try:
        return fastexcel.read_excel(data)
    except Exception as error:
        raise InputFileError(f"{label}: not a readable spreadsheet ({first_line(error)})") from error


def _read_spreadsheet(data: bytes, label: str, sheet: str | None) -> pl.DataFrame:
    workbook = _open_workbook(data, label)
    names = workbook.sheet_names
    if sheet is not None and sheet not in names:
        raise InputFileError(f"{label} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
    for name in [sheet] if sheet is not None else names:
        cells = workbook.load_sheet(name, header_row=None, dtypes="string", skip_rows=0).to_polars()
        _checked_width(cells.width, label)
        used = _from_first_used_row(cells.with_row_index(SOURCE_ROW, offset=1))
        if used.width > 1 and used.height > 1:
            return _promote_header_row(used).with_columns(pl.lit(name).alias(SOURCE_SHEET))
    raise InputFileError(f"{label}: every sheet is empty or has a header but no rows")


def _check_workbook(data: bytes, label: str) -> None:
    try:
        check_workbook(data)
    except WorkbookTooLarge as error:
        raise InputFileError(f"{label} cannot be read safely: {error}") from error
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise InputFileError(f"{label}: not a readable spreadsheet ({first_line(error)})") from error


def _from_first_used_row(cells: pl.DataFrame) -> pl.DataFrame:
    """The sheet's rows from its first non-empty one (cells numbered with their sheet row in SOURCE_ROW)."""
    used = pl.any_horizontal(pl.exclude(SOURCE_ROW).fill_null("").str.strip_chars() != "")
    return cells.filter(used.cum_max())


def _promote_header_row(cells: pl.DataFrame) -> pl.DataFrame:
    """Use the fullest of the first rows as the header, skipping titles above it (often merged cells)."""
    filled = cells.head(HEADER_SEARCH_ROWS).select(
        pl.sum_horizontal(pl.exclude(SOURCE_ROW).fill_null("").str.strip_chars() != "").alias("filled")
    )["filled"]
    header_at = int(filled.arg_max() or 0)
    header = ["" if value is None else value for value in cells.drop(SOURCE_ROW).row(header_at)]
    body = cells.slice(header_at + 1)
    return _numbered(body.drop(SOURCE_ROW).rename(dict(zip(body.columns[1:], _distinct(header), strict=True))),
                     body[SOURCE_ROW])


def _numbered(frame: pl.DataFrame, numbers: pl.Series) -> pl.DataFrame:
    """The frame with each row's number in the file as SOURCE_ROW; file columns of that name become `_input`."""
    clashing = {column: f"{column}_input" for column in frame.columns if column in SOURCE_COLUMNS}
    return frame.rename(clashing).with_columns(numbers.cast(pl.Int64).alias(SOURCE_ROW))


def _distinct(headers: list[str]) -> list[str]:
    """Header names made unique (ignoring case, as spreadsheets do), non-blank and printable, in order."""
    seen: set[str] = set()
    distinct = []
    for position, header in enumerate(headers):
        clean = visible(" ".join(str(header).split())) or f"column_{position + 1}"
        while clean.casefold() in seen:
            clean = f"{clean}_{position + 1}"
        seen.add(clean.casefold())
        distinct.append(clean)
    return distinct


def _tidy(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    """Trim header names, name blank headers, and drop fully empty rows; the row numbers come first."""
    columns = [column for column in frame.columns if column not in SOURCE_COLUMNS]
    if not columns:
        raise InputFileError(f"{label} has no columns")
    renamed = dict(zip(columns, _distinct(columns), strict=True))
    numbers = [column for column in SOURCE_COLUMNS if column in frame.columns]
    frame = frame.rename(renamed).select(*numbers, pl.col(list(renamed.values())).cast(pl.String))
    not_blank = pl.any_horizontal(pl.col(list(renamed.values())).fill_null("").str.strip_chars() != "")
    frame = frame.filter(not_blank)
    if frame.height == 0:
        raise InputFileError(f"{label} has a header but no rows")
    return frame
