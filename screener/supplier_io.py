"""Reading supplier files (CSV in any common encoding and delimiter, XLSX, Parquet) into frames of strings, whole or
batch by batch.

Delimited text is read in chunks of CHUNK_BYTES: a first pass settles the encoding and delimiter, counts the
lines and checks that every line is a complete, well-quoted record; such a file is parsed by polars chunk by chunk,
any other by the csv module record by record (any line ending, quotes inside fields, records over several lines),
so memory follows the batch, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from screener.errors import ScreenerError, first_line
from screener.files import FileLimitError, open_regular
from screener.text import visible
from screener.workbook_limits import WorkbookTooLarge, check_workbook

MAX_FILE_BYTES = 200 * 1024**2
"""The largest file read whole (the web app, the service), and the largest workbook; CSV and Parquet files are read
batch by batch without a size limit."""
BATCH_ROWS = 100_000
CHUNK_BYTES = 4 * 1024**2
LEGACY_SAMPLE_BYTES = 4 * 1024**2
PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
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


class InputFileError(ScreenerError):
    """A supplier file that cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class SupplierTable:
    """A supplier file read into a frame of strings, and the rows that needed repair (one line each)."""

    frame: pl.DataFrame
    repairs: tuple[str, ...] = ()


@dataclass
class SupplierBatches:
    """A supplier file being read: its columns (`header`, no rows), its rows (`rows`: exact, or for a file the csv
    module reads the lines after the header, an upper bound), the batches of rows in file order, and the repairs
    made so far (complete once every batch has been read)."""

    header: pl.DataFrame
    rows: int
    batches: Iterator[pl.DataFrame]
    repairs: list[str] = field(default_factory=list)


def read_suppliers(source: str | Path | bytes, *, filename: str = "", sheet: str | None = None) -> pl.DataFrame:
    """Read a supplier CSV or spreadsheet (path or bytes) into a frame whose columns are all strings
    (see read_supplier_table)."""
    return read_supplier_table(source, filename=filename, sheet=sheet).frame


def read_supplier_table(source: str | Path | bytes, *, filename: str = "", sheet: str | None = None) -> SupplierTable:
    """Read a supplier file of at most MAX_FILE_BYTES whole, repairing the rows that can be repaired and saying which.

    The file's own columns come with `source_row`, the row number a spreadsheet program shows for each
    supplier (header, title and blank rows counted), and for workbooks `source_sheet`; a file column of the
    same name is kept as `<name>_input`.
    """
    batches = read_supplier_batches(source, filename=filename, sheet=sheet, batch_rows=None, max_bytes=MAX_FILE_BYTES)
    frame = next(batches.batches)
    return SupplierTable(frame, tuple(batches.repairs))


def read_supplier_batches(
    source: str | Path | bytes,
    *,
    filename: str = "",
    sheet: str | None = None,
    batch_rows: int | None = BATCH_ROWS,
    max_bytes: int | None = None,
) -> SupplierBatches:
    """Read a supplier file batch by batch (`batch_rows=None`: one batch), as read_supplier_table reads it whole.

    The file is refused at once when it is empty, binary, an Apple Numbers file, or over `max_bytes`.
    """
    label = (filename or (Path(source).name if isinstance(source, (str, Path)) else "")) or "the uploaded file"
    stream = _open(source, label, max_bytes)
    head = stream.read(BINARY_SNIFF_BYTES)
    stream.seek(0)
    if label.lower().endswith(".numbers"):
        raise InputFileError(
            f"{label} is an Apple Numbers file, which cannot be read: in Numbers choose File > Export To > CSV "
            "(or Excel) and screen that file"
        )
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or label.lower().endswith(EXCEL_SUFFIXES):
        data = _read_whole(stream, label, MAX_FILE_BYTES)
        if not data.strip():
            raise InputFileError(f"{label} is empty: it has no header and no rows")
        frame = _tidy(_read_spreadsheet(data, label, sheet), label)
        return SupplierBatches(frame.clear(), frame.height, _rebatch([frame], batch_rows, label))
    if head.startswith(PARQUET_MAGIC) or label.lower().endswith(PARQUET_SUFFIXES):
        return _parquet_batches(stream, label, batch_rows)
    if not head.strip() and not _has_text(stream):
        raise InputFileError(f"{label} is empty: it has no header and no rows")
    _refuse_binary(head, label)
    return _delimited_batches(stream, label, batch_rows)


def _open(source: str | Path | bytes, label: str, max_bytes: int | None) -> BinaryIO:
    if not isinstance(source, (str, Path)):
        if max_bytes is not None and len(source) > max_bytes:
            raise InputFileError(f"{label} holds more than {max_bytes // 1024**2} MB, the limit for a supplier list")
        return io.BytesIO(source)
    try:
        return open_regular(Path(source), "supplier list (CSV or XLSX)", max_bytes)
    except FileLimitError as error:
        raise InputFileError(str(error)) from error


def _read_whole(stream: BinaryIO, label: str, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(f"{label} holds more than {limit // 1024**2} MB, the limit for a supplier list")
    return data


def _has_text(stream: BinaryIO) -> bool:
    """Whether the file holds anything but whitespace."""
    try:
        return any(chunk.strip() for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""))
    finally:
        stream.seek(0)


def _rebatch(frames: Iterable[pl.DataFrame], batch_rows: int | None, label: str) -> Iterator[pl.DataFrame]:
    """The rows of frames in batches of batch_rows (None: one batch); InputFileError when there is no row at all."""
    pending: list[pl.DataFrame] = []
    held = 0
    seen = False
    for frame in frames:
        pending.append(frame)
        held += frame.height
        while batch_rows is not None and held >= batch_rows:
            whole = pl.concat(pending, how="vertical")
            yield whole.head(batch_rows)
            seen = True
            pending, held = [whole.slice(batch_rows)], held - batch_rows
    rest = pl.concat(pending, how="vertical") if pending else None
    if rest is not None and rest.height:
        yield rest
    elif not seen:
        raise InputFileError(f"{label} has a header but no rows")


def row_numbers(first_row: int = 0) -> pl.Expr:
    """The position of each row of a frame counted from `first_row` (polars' row-index type), as an expression: a
    file's own column named like it ('row', say) is left alone instead of clashing with it."""
    return (pl.int_range(pl.len(), dtype=pl.get_index_type()) + first_row).alias("row")


def with_source_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with integer SOURCE_ROW numbers; a frame not read from a file counts as a table with its header on
    row 1 (first supplier on row 2)."""
    if SOURCE_ROW in frame.columns:
        return frame.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64, strict=False))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def _refuse_binary(head: bytes, label: str) -> None:
    for magic, kind in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise InputFileError(f"{label} is {kind}, not a CSV or XLSX supplier list")
    controls = sum(head.count(byte) for byte in _CONTROL_BYTES)
    if controls > max(BINARY_CONTROL_BYTES, BINARY_CONTROL_SHARE * len(head)) and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{label} is a binary file, not a CSV or XLSX supplier list")


def _parquet_batches(stream: BinaryIO, label: str, batch_rows: int | None) -> SupplierBatches:
    """A Parquet file read a row group's batch at a time, every column as text; rows numbered from 2 (as a table
    with its header on row 1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as error:
        raise InputFileError(f"{label}: not a readable Parquet file ({first_line(error)})") from error
    schema = parquet.schema_arrow
    _checked_width(len(schema.names), label)
    nested = [name for name, kind in zip(schema.names, schema.types, strict=True) if pa.types.is_nested(kind)]
    if nested:
        raise InputFileError(f"{label}: column {nested[0]!r} holds lists or records; flatten it to text and try again")
    columns = _distinct(schema.names)

    def frames() -> Iterator[pl.DataFrame]:
        first = 2
        for batch in parquet.iter_batches(batch_size=batch_rows or BATCH_ROWS):
            frame = pl.DataFrame(pl.from_arrow(batch)).cast(pl.String, strict=False)
            frame.columns = columns
            numbers = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True)
            first += frame.height
            yield _tidy(_numbered(frame, numbers), label)

    header = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(columns, pl.String)})
    return SupplierBatches(header, parquet.metadata.num_rows, _rebatch(frames(), batch_rows, label))


# ---------------------------------------------------------------- delimited text


@dataclass(frozen=True)
class _TextLayout:
    """What the first pass over a delimited file found: how to decode it, its delimiter and header, its lines, whether
    every line is a complete, well-quoted record (so polars may parse it) and, then, the records with too many fields.
    """

    encoding: str
    errors: str
    delimiter: str
    header: list[str]
    header_line: int
    lines: int
    plain: bool
    too_many: list[tuple[int, int]]


def _delimited_batches(stream: BinaryIO, label: str, batch_rows: int | None) -> SupplierBatches:
    layout = _layout(stream, label)
    columns = _distinct(layout.header)
    _checked_width(len(columns), label)
    repairs = _plain_repairs(layout, len(columns)) if layout.plain else []
    read = _plain_frames if layout.plain else _csv_frames
    frames = (_tidy(frame, label) for frame in read(stream, layout, columns, repairs))
    header = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(columns, pl.String)})
    return SupplierBatches(header, max(layout.lines - layout.header_line, 0), _rebatch(frames, batch_rows, label),
                           repairs)


def _plain_repairs(layout: _TextLayout, width: int) -> list[str]:
    return _repair_lines(_too_many(line, count, width) for line, count in layout.too_many)


def _layout(stream: BinaryIO, label: str) -> _TextLayout:
    """Decode by BOM, then as UTF-8, then as the most likely legacy encoding; sniff the delimiter; check every line."""
    head = stream.read(4)
    stream.seek(0)
    bom = next((encoding for bom, encoding in _BOMS if head.startswith(bom)), None)
    try:
        return _scan(stream, bom or "utf-8", "strict")
    except (UnicodeDecodeError, pl.exceptions.ComputeError):
        return _scan(stream, _legacy_encoding(stream, label), "replace")


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _legacy_encoding(stream: BinaryIO, label: str) -> str:
    import charset_normalizer  # loads only for a file that is not UTF-8

    stream.seek(0)
    sample = stream.read(LEGACY_SAMPLE_BYTES)
    stream.seek(0)
    matches = charset_normalizer.from_bytes(sample, cp_isolation=list(LEGACY_ENCODINGS))
    plausible = [match for match in matches if not _HALFWIDTH_KANA.search(str(match))]
    if not plausible:
        raise InputFileError(f"{label}: cannot tell its text encoding; save it as UTF-8 CSV and try again")
    return plausible[0].encoding


def _utf8_chunks(stream: BinaryIO, encoding: str, errors: str) -> Iterator[bytes]:
    """The file as UTF-8 in pieces of about CHUNK_BYTES that end with a line break (but the last): UTF-8 as it is
    (polars checks it), other encodings decoded and encoded again."""
    stream.seek(0)
    if encoding == "utf-8-sig":
        stream.read(3)
    decoder = None if encoding in ("utf-8", "utf-8-sig") else codecs.getincrementaldecoder(encoding)(errors)
    carried = b""
    while True:
        raw = stream.read(CHUNK_BYTES)
        data = carried + (decoder.decode(raw, final=not raw).encode("utf-8") if decoder else raw)
        if not raw:
            if data:
                yield data
            return
        cut = (data.rfind(b"\n") + 1) or (data.rfind(b"\r", 0, -1) + 1)  # a file of CR-only line ends too
        if cut:
            yield data[:cut]
        carried = data[cut:]


_PATTERN_DELIMITERS = {",": ",", ";": ";", "\t": r"\t", "|": r"\|"}
_LINE_SEPARATOR = "\x01"  # polars splits a chunk into lines at this byte; a chunk holding it is read by the csv module


def _record_pattern(delimiter: str) -> str:
    """A line that is one complete record: fields unquoted (no quote, CR or NUL) or quoted (quotes doubled)."""
    d = _PATTERN_DELIMITERS[delimiter]
    field = rf'(?:"(?:[^"\r\x00]|"")*"|[^"{d}\r\x00]*)'
    return rf"^{field}(?:{d}{field})*$"


def _scan(stream: BinaryIO, encoding: str, errors: str) -> _TextLayout:
    header: list[str] = []
    lines, plain, delimiter, header_line, too_many = 0, True, ",", 1, []
    for position, chunk in enumerate(_utf8_chunks(stream, encoding, errors)):
        if position == 0:
            text = chunk.decode("utf-8")
            delimiter = _sniff_delimiter(text)
            header, header_line = _first_record(text, delimiter)
        split = _lines(chunk)
        plain = plain and _plain_lines(chunk, split, delimiter)
        if plain:
            too_many += _lines_with_too_many_fields(split, delimiter, len(header), lines + 1)
        lines += split.len()
    return _TextLayout(encoding, errors, delimiter, header, header_line, lines, plain, too_many)


def _first_record(text: str, delimiter: str) -> tuple[list[str], int]:
    """The first non-blank record (the header) and the number it has among the records (blank ones counted)."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return next(((record, number) for number, record in enumerate(records, start=1) if record), ([], 1))


def _lines(chunk: bytes) -> pl.Series:
    """The lines of a UTF-8 chunk (split at LF, a CR before it dropped; blank lines null)."""
    if _LINE_SEPARATOR.encode() in chunk:
        return pl.Series("line", chunk.decode("utf-8").split("\n")[: -1 if chunk.endswith(b"\n") else None])
    return pl.read_csv(chunk, has_header=False, separator=_LINE_SEPARATOR, quote_char=None, infer_schema=False,
                       new_columns=["line"], raise_if_empty=False).to_series()


def _plain_lines(chunk: bytes, lines: pl.Series, delimiter: str) -> bool:
    """Whether every line is one complete record that polars reads as the csv module does."""
    if any(byte in chunk for byte in (b"\x00", _LINE_SEPARATOR.encode())) or lines.str.contains("\r").any():
        return False
    quoted = lines.filter(lines.str.contains('"', literal=True))
    return bool(quoted.str.contains(_record_pattern(delimiter)).all())


def _lines_with_too_many_fields(lines: pl.Series, delimiter: str, width: int, first_line: int) -> list[tuple[int, int]]:
    """(line, fields) of the well-quoted lines holding more fields than the header."""
    counted = pl.DataFrame({"line": lines}).with_row_index("number", offset=first_line).filter(
        pl.col("line").str.count_matches(delimiter, literal=True) >= width  # delimiters in quotes counted too
    )
    fields = pl.col("line").str.replace_all(r'"(?:[^"]|"")*"', "").str.count_matches(delimiter, literal=True) + 1
    return counted.select("number", fields=fields).filter(pl.col("fields") > width).rows()


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


def _plain_frames(stream: BinaryIO, layout: _TextLayout, columns: list[str], _: list[str]) -> Iterator[pl.DataFrame]:
    """A file of one-line records parsed by polars from its bytes, a chunk at a time, each row numbered by its line
    (records with too many fields cut to the header's width, as the first pass reported). The rows parsed must be
    the lines of the chunk."""
    schema = dict.fromkeys(columns, pl.String)
    first_line = 1
    for chunk in _utf8_chunks(stream, layout.encoding, layout.errors):
        frame = pl.read_csv(
            chunk, has_header=False, separator=layout.delimiter, quote_char='"', schema=schema,
            truncate_ragged_lines=True, raise_if_empty=False,
        )
        lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        if frame.height != lines:
            raise InputFileError(f"{frame.height:,} rows were read from the {lines:,} lines from line {first_line:,}; "
                                 "save the file again as CSV and try again")
        numbers = pl.int_range(first_line, first_line + frame.height, dtype=pl.Int64, eager=True)
        frame = _numbered(frame.with_columns(pl.all().replace("", None)), numbers)
        yield frame.filter(pl.col(SOURCE_ROW) > layout.header_line)
        first_line += lines


def _too_many(line: int, count: int, width: int) -> tuple[int, str]:
    return line, (f"{count} fields where the header has {width}; the last {count - width} dropped "
                  "(a delimiter inside an unquoted field?)")


def _repair_lines(repairs: Iterable[tuple[int, str]]) -> list[str]:
    """Repairs as the lines users see, in line order."""
    return [f"line {line}: {what}" for line, what in sorted(repairs)]


def _csv_frames(
    stream: BinaryIO, layout: _TextLayout, columns: list[str], repairs: list[str]
) -> Iterator[pl.DataFrame]:
    """Records split by the csv module (any line ending outside quotes; a quote inside a field kept as text), padded
    or cut to the header's width; NUL characters removed; each record over several lines checked again without it.
    """
    width = len(columns)
    text = io.TextIOWrapper(stream, encoding=layout.encoding, errors=layout.errors, newline="")
    text.seek(0)
    held: list[str] = []
    reader = csv.reader(_holding(text, held), delimiter=layout.delimiter)
    quoted = re.compile(rf'(?:^|(?<=[{re.escape(layout.delimiter)}\r\n]))"(?:[^"]|"")*"')
    batch = _CsvBatch(columns)
    last_line = 0
    for row, record in enumerate(reader, start=1):
        spanned = reader.line_num - last_line
        if spanned > 1:
            _check_record_lines("".join(held[-spanned:]), quoted, last_line + 1)
        last_line = reader.line_num
        if row <= layout.header_line or not record:
            continue
        if len(record) > width:
            batch.repairs.append(_too_many(reader.line_num, len(record), width))
        batch.add(record[:width] + [""] * (width - len(record)), row, reader.line_num)
        if len(batch.rows) >= CSV_BATCH_RECORDS:
            held.clear()
            yield batch.frame(repairs)
            batch = _CsvBatch(columns)
    yield batch.frame(repairs)


CSV_BATCH_RECORDS = 20_000


@dataclass
class _CsvBatch:
    """Records read by the csv module, with their record and line numbers, and the repairs made to them."""

    columns: list[str]
    cells: list[list[str]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    repairs: list[tuple[int, str]] = field(default_factory=list)

    def add(self, cells: list[str], row: int, line: int) -> None:
        self.cells.append(cells)
        self.rows.append(row)
        self.lines.append(line)

    def frame(self, repairs: list[str]) -> pl.DataFrame:
        """The records as a frame (NUL characters removed); its repairs, in line order, added to `repairs`."""
        schema = dict.fromkeys(self.columns, pl.String)
        frame = pl.DataFrame(dict(zip(self.columns, zip(*self.cells, strict=False), strict=True)) if self.cells else {}, schema=schema)
        frame = frame.with_columns(pl.all().replace("", None))
        nul = frame.select(pl.any_horizontal(pl.all().str.contains("\x00", literal=True)).alias("nul"))["nul"]
        self.repairs += [(self.lines[index], "NUL character(s) removed") for index in nul.arg_true().to_list()]
        repairs += _repair_lines(self.repairs)
        frame = frame.with_columns(pl.all().str.replace_all("\x00", "", literal=True))
        return _numbered(frame, pl.Series(self.rows, dtype=pl.Int64))


def _holding(lines: Iterable[str], held: list[str]) -> Iterator[str]:
    """The lines, each also kept in `held` (which the reader clears between batches)."""
    for line in lines:
        held.append(line)
        yield line


def _check_record_lines(raw: str, quoted: re.Pattern[str], first_line: int) -> None:
    """Refuse a record over several lines that its quoted fields do not explain: a quote never closed."""
    if _LINE_BREAK.search(quoted.sub("x", raw).rstrip("\r\n")):
        raise InputFileError(
            f"the row starting on line {first_line} runs on over several lines: a quote opened on line {first_line} "
            "may never be closed; fix the file and try again rather than screen fewer suppliers"
        )


def _checked_width(width: int, label: str) -> int:
    if width > MAX_COLUMNS:
        raise InputFileError(f"{label} has {width:,} columns; a supplier list may have at most {MAX_COLUMNS:,}: "
                             "keep the supplier columns and try again")
    return width


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
    return frame.filter(not_blank)
