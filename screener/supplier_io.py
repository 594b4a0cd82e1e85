"""Reading supplier files (CSV in any common encoding and delimiter, XLSX) into frames of strings."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from pathlib import Path

import charset_normalizer
import polars as pl

from screener.errors import first_line
from screener.workbook_limits import WorkbookTooLarge, check_workbook

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
# Legacy encodings supplier files arrive in when not UTF-8: Chinese (mainland, Taiwan/HK), Western and
# Cyrillic Windows code pages, Japanese and Korean. Half-width katakana marks a GB file misread as Shift-JIS.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252", "cp1251", "shift_jis", "euc_kr")
_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]{3}")


class InputFileError(ValueError):
    """A supplier file that cannot be read; the message says why and what to do."""


def read_suppliers(source: str | Path | bytes, *, filename: str = "", sheet: str | None = None) -> pl.DataFrame:
    """Read a supplier CSV or spreadsheet (path or bytes) into a frame whose columns are all strings."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputFileError(f"{path}: no such file")
        filename = filename or path.name
        data = path.read_bytes()
    else:
        data = source
    label = filename or "the uploaded file"
    if not data.strip():
        raise InputFileError(f"{label} is empty: it has no header and no rows")
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or filename.lower().endswith(EXCEL_SUFFIXES):
        frame = _read_spreadsheet(data, label, sheet)
    else:
        _refuse_binary(data, label)
        frame = _read_delimited(_decode(data, label), label)
    return _tidy(frame, label)


def _refuse_binary(data: bytes, label: str) -> None:
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputFileError(f"{label} is {kind}, not a CSV or XLSX supplier list")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
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


def _read_delimited(text: str, label: str) -> pl.DataFrame:
    try:
        return pl.read_csv(
            io.StringIO(text),
            separator=_sniff_delimiter(text),
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise InputFileError(f"{label}: not a readable CSV file ({str(error).splitlines()[0]})") from error


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
        cells = workbook.load_sheet(name, header_row=None, dtypes="string").to_polars()
        if cells.width and cells.height > 1:
            return _promote_header_row(cells)
    raise InputFileError(f"{label}: every sheet is empty or has a header but no rows")


def _check_workbook(data: bytes, label: str) -> None:
    try:
        check_workbook(data)
    except WorkbookTooLarge as error:
        raise InputFileError(f"{label} cannot be read safely: {error}") from error
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise InputFileError(f"{label}: not a readable spreadsheet ({first_line(error)})") from error


def _promote_header_row(cells: pl.DataFrame) -> pl.DataFrame:
    """Use the fullest of the first rows as the header, skipping titles above it (often merged cells)."""
    filled = cells.head(HEADER_SEARCH_ROWS).select(
        pl.sum_horizontal(pl.all().fill_null("").str.strip_chars() != "").alias("filled")
    )["filled"]
    header_at = int(filled.arg_max() or 0)
    header = ["" if value is None else value for value in cells.row(header_at)]
    body = cells.slice(header_at + 1)
    return body.rename(dict(zip(body.columns, _distinct(header), strict=True)))


def _distinct(headers: list[str]) -> list[str]:
    """Header names made unique and non-blank, in order."""
    seen: list[str] = []
    for position, header in enumerate(headers):
        clean = " ".join(str(header).split()) or f"column_{position + 1}"
        while clean in seen:
            clean = f"{clean}_{position + 1}"
        seen.append(clean)
    return seen


def _tidy(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    """Trim header names, name blank headers, and drop fully empty rows."""
    if frame.width == 0:
        raise InputFileError(f"{label} has no columns")
    renamed = dict(zip(frame.columns, _distinct(frame.columns), strict=True))
    frame = frame.rename(renamed).select(pl.all().cast(pl.String))
    not_blank = pl.any_horizontal(pl.all().fill_null("").str.strip_chars() != "")
    frame = frame.filter(not_blank)
    if frame.height == 0:
        raise InputFileError(f"{label} has a header but no rows")
    return frame
