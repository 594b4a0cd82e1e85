"""Cheap checks of a zipped workbook (XLSX, XLSM, ODS) before the spreadsheet reader allocates for it.

The reader sizes its buffers from what the file claims: the far corner of the cells it holds, the shared-strings
count, the inflated size of each part. A few hundred bytes can claim hundreds of gigabytes and abort the process,
so the claims are measured here first, streaming through the archive with bounded memory.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from screener.errors import ScreenerError

MAX_INFLATED_BYTES = 256 * 1024**2
MAX_PARTS = 10_000
MAX_CELLS = 10_000_000
MAX_ROWS = 1_048_576  # Excel's own limits
MAX_COLUMNS = 16_384
EXCEL_MAX_DATA_ROWS = MAX_ROWS - 1  # the rows a sheet holds below its header
MAX_TAG_BYTES = 1024**2
CHUNK_BYTES = 1024**2
SMALLEST_SHARED_STRING = len(b"<si/>")
_SHEET_PART = re.compile(r"(^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)
_SHARED_STRINGS_PART = re.compile(r"(^|/)sharedStrings\.xml$", re.IGNORECASE)
_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_TAG = re.compile(_PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_QUICK_TAG = re.compile(_PREFIX + rb"""(c|row)(?:\s+r=["']([A-Za-z]*)(\d*)|[\s/>])""")
_REF_ATTRIBUTE = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]*)(\d*)["']""")
_SST_TAG = re.compile(_PREFIX + rb"sst(?=[\s/>])([^>]*)>")
_UNIQUE_COUNT = re.compile(rb"""\suniqueCount\s*=\s*["'](\d+)["']""")


class WorkbookTooLarge(ScreenerError):
    """A workbook whose claimed or real size is beyond what a supplier list can need; the message says which."""


def check_workbook(data: bytes) -> None:
    """Raise WorkbookTooLarge (or zipfile.BadZipFile) when reading `data` could exhaust memory or time."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise WorkbookTooLarge(f"it holds {len(parts):,} parts, more than the {MAX_PARTS:,} a workbook can need")
    declared = sum(part.file_size for part in parts)
    if declared > MAX_INFLATED_BYTES:
        raise WorkbookTooLarge(f"it unpacks to {_mb(declared)}, more than the {_mb(MAX_INFLATED_BYTES)} allowed")
    budget = _Budget(MAX_INFLATED_BYTES)
    for part in parts:
        if _SHEET_PART.search(part.filename):
            _check_sheet(archive, part, budget)
        elif _SHARED_STRINGS_PART.search(part.filename):
            _check_shared_strings(part.file_size, budget.track(_chunks(archive, part)))
        else:
            for _ in budget.track(_chunks(archive, part)):
                pass


@dataclass
class _Budget:
    """Inflated bytes still allowed across the whole archive."""

    left: int

    def track(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.left -= len(chunk)
            if self.left < 0:
                raise WorkbookTooLarge(f"it unpacks to more than the {_mb(MAX_INFLATED_BYTES)} allowed")
            yield chunk


def _chunks(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's inflated bytes; zipfile stops at the declared size and checks the CRC, so sizes cannot lie."""
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                yield chunk
    except (zlib.error, EOFError) as error:
        raise zipfile.BadZipFile(f"part {part.filename} is damaged ({error})") from error


def _complete_tags(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The inflated XML in pieces that never split a tag."""
    pending = b""
    for chunk in chunks:
        text = pending + chunk
        cut = text.rfind(b"<")
        if cut >= 0 and b">" not in text[cut:]:
            text, pending = text[:cut], text[cut:]
        else:
            pending = b""
        if len(pending) > MAX_TAG_BYTES:
            raise WorkbookTooLarge(f"it has an XML tag longer than {_mb(MAX_TAG_BYTES)}")
        yield text


def _check_sheet(archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: _Budget) -> None:
    """Refuse cell positions beyond Excel's limits, or values spanning more cells than the cap.

    A quick pass reads the references every writer puts first in each row and cell tag; only a sheet whose tags
    lack them, or whose references span too much, is followed tag by tag as the reader places its values.
    """
    sheet = part.filename.rsplit("/", 1)[-1]
    if _quick_area(budget.track(_chunks(archive, part)), sheet) > MAX_CELLS:
        _exact_area(_chunks(archive, part), sheet).check()


def _quick_area(chunks: Iterator[bytes], sheet: str) -> float:
    """Cells spanned by every referenced row and cell (empty ones too); infinite when some tag has no reference."""
    rows: set[bytes] = set()
    columns: set[bytes] = set()
    complete = True
    for text in _complete_tags(chunks):
        tags = _QUICK_TAG.findall(text)
        complete = complete and (b"c", b"", b"") not in tags and (b"row", b"", b"") not in tags
        rows.update(digits for _, _, digits in tags)
        columns.update(letters for tag, letters, _ in tags if tag == b"c")
    row_numbers = [_row_number(digits, sheet) for digits in rows if digits]
    column_numbers = [_column_number(letters, sheet) for letters in columns if letters]
    if not complete:
        return float("inf")
    if not row_numbers or not column_numbers:
        return 0
    return (max(row_numbers) - min(row_numbers) + 1) * (max(column_numbers) - min(column_numbers) + 1)


def _exact_area(chunks: Iterator[bytes], sheet: str) -> _Extent:
    extent = _Extent(sheet)
    for text in _complete_tags(chunks):
        for match in _TAG.finditer(text):
            extent.place(match.group(1), match.group(2))
    return extent


@dataclass
class _Extent:
    """The cells a sheet's values span, followed as the reader places them (by reference, else by position)."""

    sheet: str
    row: int = 0
    column: int = 0
    top: int = MAX_ROWS
    bottom: int = 0
    left: int = MAX_COLUMNS
    right: int = 0

    def place(self, tag: bytes, attributes: bytes) -> None:
        ref = _REF_ATTRIBUTE.search(attributes)
        if tag == b"row":
            self.row = _row_number(ref.group(2), self.sheet) if ref and ref.group(2) else self.row + 1
            self.column = 0
            return
        if ref and ref.group(1):
            self.column = _column_number(ref.group(1), self.sheet)
            self.row = _row_number(ref.group(2), self.sheet) if ref.group(2) else self.row
        else:
            self.column += 1
        if not attributes.endswith(b"/"):  # an empty (formatted) cell: the reader keeps no value for it
            self.top, self.bottom = min(self.top, self.row), max(self.bottom, self.row)
            self.left, self.right = min(self.left, self.column), max(self.right, self.column)

    def check(self) -> None:
        height, width = self.bottom - self.top + 1, self.right - self.left + 1
        if self.bottom and height * width > MAX_CELLS:
            raise WorkbookTooLarge(
                f"sheet {self.sheet} spans {height:,} rows by {width:,} columns, more than the {MAX_CELLS:,} "
                "cells a supplier list can hold; delete the far-away cells or split it"
            )


def _row_number(digits: bytes, sheet: str) -> int:
    number = int(digits.lstrip(b"0")[:12] or b"0")
    if not 1 <= number <= MAX_ROWS:
        raise WorkbookTooLarge(f"sheet {sheet} refers to row {number:,}, beyond Excel's last row {MAX_ROWS:,}")
    return number


def _column_number(letters: bytes, sheet: str) -> int:
    number = 0
    for letter in letters.upper()[:4]:
        number = number * 26 + letter - ord("A") + 1
    if len(letters) > 3 or number > MAX_COLUMNS:
        raise WorkbookTooLarge(f"sheet {sheet} refers to column {letters[:12].decode()}, beyond Excel's last column XFD")
    return number


def _check_shared_strings(size: int, chunks: Iterator[bytes]) -> None:
    """The reader reserves room for the declared count of shared strings: it must fit in the part's size."""
    for text in _complete_tags(chunks):
        root = _SST_TAG.search(text)
        if root and (count := _UNIQUE_COUNT.search(root.group(1))):
            claimed, possible = int(count.group(1)), size // SMALLEST_SHARED_STRING
            if claimed > possible:
                raise WorkbookTooLarge(
                    f"it declares {claimed:,} shared strings but has room for at most {possible:,}"
                )


def _mb(size: int) -> str:
    return f"{size / 1024**2:,.0f} MB"
