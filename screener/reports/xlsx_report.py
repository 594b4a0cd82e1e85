"""XLSX report: Results, Candidates, Summary and Sources sheets, written column by column with xlsxwriter."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from screener.reports.tables import (
    ReportError,
    input_column,
    input_columns,
    list_counts,
    neutralise_formulas,
    report_candidates,
    report_rows,
    rule_counts,
    run_facts_frame,
    snapshots_frame,
    tier_counts,
)
from screener.result import ScreenResult
from screener.workbook_limits import EXCEL_MAX_DATA_ROWS

EXCEL_MAX_CELL_CHARS = 32_767
CUT_MARK = " … [cut at Excel's {limit:,}-character cell limit; the CSV and JSON reports keep the full text]"
TIER_CELL_COLOURS: dict[str, dict[str, str | bool]] = {
    "critical": {"bg_color": "#9C0006", "font_color": "#FFFFFF", "bold": True},
    "high": {"bg_color": "#E26B0A", "font_color": "#FFFFFF", "bold": True},
    "medium": {"bg_color": "#FFD966", "font_color": "#000000"},
    "low": {"bg_color": "#DDEBF7", "font_color": "#000000"},
    "clear": {"bg_color": "#E2EFDA", "font_color": "#000000"},
}
TIER_ROW_TINTS = {"critical": "#F8CBAD", "high": "#FCE4D6", "medium": "#FFF2CC"}
HEADER_FORMAT = {"bold": True, "bg_color": "#D9D9D9", "text_wrap": True, "valign": "top"}
_WIDE_CHARACTERS = r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
MIN_WIDTH, MAX_WIDTH = 6, 60
PIXELS_PER_CHARACTER = 7
CJK_FONT = "Microsoft YaHei"  # a font with Chinese glyphs that Excel ships on Windows; others substitute their own
WRAPPED_COLUMNS = ("reasons",)
LINK_COLUMNS = ("match_url", "source_url")
MAX_LINKS_PER_SHEET = 65_000  # Excel stores at most 65,530 hyperlinks in a sheet
_PLAIN_DECIMAL = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$"
_URL_START = r"^https?://"
# every string written as text: never turned into a formula, a hyperlink (file:, external:, data:) or a number
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "default_date_format": "yyyy-mm-dd",
    "default_format_properties": {"font_name": CJK_FONT},
}


def column_widths(frame: pl.DataFrame) -> dict[str, int]:
    """Pixel width per column from its longest value (wide CJK characters count twice), within bounds."""
    if frame.width == 0:
        return {}
    as_text = frame.select(pl.all().cast(pl.String))
    longest = as_text.select(
        (pl.col(name).str.len_chars() + pl.col(name).str.count_matches(_WIDE_CHARACTERS)).max().alias(name)
        for name in frame.columns
    ).row(0, named=True)
    return {
        name: PIXELS_PER_CHARACTER * min(MAX_WIDTH, max(MIN_WIDTH, len(name) + 2, (longest[name] or 0) + 1))
        for name in frame.columns
    }


def number_format(dtype: pl.DataType) -> str | None:
    """Excel number format of a column type: thousands separators, one decimal, ISO dates."""
    if dtype.is_integer():
        return "#,##0"
    if dtype.is_float():
        return "#,##0.0"
    if dtype == pl.Date:
        return "yyyy-mm-dd"
    if dtype == pl.Datetime:
        return "yyyy-mm-dd hh:mm:ss"
    return None


def column_format(workbook: xlsxwriter.Workbook, dtype: pl.DataType) -> Format:
    """The format of every data cell of a column of this type (xlsxwriter stores identical formats once)."""
    options: dict[str, object] = {"valign": "vcenter"}
    if (pattern := number_format(dtype)) is not None:
        options["num_format"] = pattern
    return workbook.add_format(options)


def cell_writer(sheet: Worksheet, dtype: pl.DataType) -> Callable[..., object]:
    """The xlsxwriter method that stores values of this type (text is always stored as text)."""
    if dtype == pl.String:
        return sheet.write_string
    if dtype == pl.Boolean:
        return sheet.write_boolean
    if dtype.is_temporal():
        return sheet.write_datetime
    if dtype.is_numeric():
        return sheet.write_number
    raise ReportError(f"column type {dtype} cannot be written to a spreadsheet cell; convert it to text first")


def write_column_cells(
    sheet: Worksheet, first_row: int, column: int, values: pl.Series, style: Format, *, links: bool = False
) -> None:
    """Store the non-empty values of one column downwards from first_row; empty cells are not written.

    With `links`, a cell starting with a web address links to it (its first one, when several are listed).
    """
    present = values.to_frame("value").with_row_index("row", offset=first_row).filter(pl.col("value").is_not_null())
    if values.dtype == pl.String:
        present = present.filter(pl.col("value") != "")
    write = cell_writer(sheet, values.dtype)
    if links:
        present = present.with_columns(
            url=pl.when(pl.col("value").str.contains(_URL_START)).then(pl.col("value").str.extract(r"^(\S+)"))
        )
        for row, value, url in present.select("row", "value", "url").iter_rows():
            if url:
                sheet.write_url(row, column, url, style, string=value)
            else:
                write(row, column, value, style)
        return
    for row, value in zip(present["row"].to_list(), present["value"].to_list(), strict=True):
        write(row, column, value, style)


def with_numbers(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The given text columns as numbers where every non-empty value is a plain decimal number (no leading zeros,
    at most 15 digits before the point), so spreadsheets sum and sort them; codes and ids with zeros stay text."""
    def values(column: str) -> pl.Series:
        return frame[column].str.strip_chars().replace("", None).drop_nulls()

    numeric = {
        column: pl.Int64 if values(column).str.contains(r"^-?[0-9]+$").all() else pl.Float64
        for column in columns
        if frame.schema[column] == pl.String and values(column).len() and values(column).str.contains(_PLAIN_DECIMAL).all()
    }
    return frame.with_columns(
        pl.col(column).str.strip_chars().replace("", None).cast(dtype) for column, dtype in numeric.items()
    )


def table_name(workbook: xlsxwriter.Workbook) -> str:
    """The next free table name, Frame0, Frame1, ... across the workbook."""
    taken = {table["name"] for sheet in workbook.worksheets() for table in sheet.tables}
    return next(f"Frame{number}" for number in range(len(taken) + 1) if f"Frame{number}" not in taken)


def write_sheet(
    workbook: xlsxwriter.Workbook, sheet: str, frame: pl.DataFrame, position: str = "A1", *, sized: bool = True
) -> Worksheet:
    """Write one neutralised frame as a filterable table (columns sized unless told not); return its worksheet."""
    if frame.height > EXCEL_MAX_DATA_ROWS:
        raise ReportError(f"{frame.height} rows do not fit in an Excel sheet ({sheet}); write a CSV report instead")
    safe = fit_cells(neutralise_formulas(frame))
    worksheet = workbook.get_worksheet_by_name(sheet)
    first_row, first_column = xl_cell_to_rowcol(position)
    header = workbook.add_format(HEADER_FORMAT)
    formats = {dtype: column_format(workbook, dtype) for dtype in set(safe.dtypes)}
    styles = [formats[dtype] for dtype in safe.dtypes]
    worksheet.add_table(first_row, first_column, first_row + max(safe.height, 1), first_column + safe.width - 1, {
        "style": "TableStyleLight1",
        "autofilter": True,
        "name": table_name(workbook),
        "columns": [
            {"header": name, "format": style, "header_format": header}
            for name, style in zip(safe.columns, styles, strict=True)
        ],
    })
    wrap = workbook.add_format({"valign": "top", "text_wrap": True})
    linked = safe.height <= MAX_LINKS_PER_SHEET
    for index, (values, style) in enumerate(zip(safe.iter_columns(), styles, strict=True)):
        style = wrap if values.name in WRAPPED_COLUMNS else style
        write_column_cells(worksheet, first_row + 1, first_column + index, values, style,
                           links=linked and values.name in LINK_COLUMNS)
    if sized:
        for index, width in enumerate(column_widths(safe).values()):
            worksheet.set_column_pixels(first_column + index, first_column + index, width)
    return worksheet


def fit_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Text longer than an Excel cell holds, cut to fit and saying so in the cell itself."""
    mark = CUT_MARK.format(limit=EXCEL_MAX_CELL_CHARS)
    keep = EXCEL_MAX_CELL_CHARS - len(mark)
    return frame.with_columns(
        pl.when(pl.col(name).str.len_chars() > EXCEL_MAX_CELL_CHARS)
        .then(pl.col(name).str.slice(0, keep) + pl.lit(mark))
        .otherwise(pl.col(name))
        for name, dtype in frame.schema.items() if dtype == pl.String
    )


def overlong_cells(frame: pl.DataFrame) -> int:
    """How many text cells of the frame exceed what an Excel cell holds."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return 0
    return int(frame.select(pl.sum_horizontal((pl.col(text).str.len_chars() > EXCEL_MAX_CELL_CHARS).sum())).item())


def size_stacked_columns(sheet: Worksheet, frames: list[pl.DataFrame]) -> None:
    """Width of each column of a sheet holding several tables: the widest need among them."""
    needs: dict[int, int] = {}
    for frame in frames:
        for index, width in enumerate(column_widths(neutralise_formulas(frame)).values()):
            needs[index] = max(needs.get(index, 0), width)
    for index, width in needs.items():
        sheet.set_column_pixels(index, index, width)


def colour_tiers(workbook: xlsxwriter.Workbook, sheet: Worksheet, frame: pl.DataFrame) -> None:
    """Colour the risk_tier cells strongly and tint critical, high and medium rows."""
    if frame.is_empty():
        return
    last_row, last_column = frame.height, frame.width - 1
    tier_column = frame.get_column_index("risk_tier")
    for tier, colours in TIER_CELL_COLOURS.items():
        sheet.conditional_format(1, tier_column, last_row, tier_column, {
            "type": "cell", "criteria": "==", "value": f'"{tier}"', "format": workbook.add_format(colours),
        })
    tier_letter = xl_col_to_name(tier_column, col_abs=True)
    for tier, tint in TIER_ROW_TINTS.items():
        sheet.conditional_format(1, 0, last_row, last_column, {
            "type": "formula", "criteria": f'={tier_letter}2="{tier}"', "format": workbook.add_format({"bg_color": tint}),
        })


def write_results(workbook: xlsxwriter.Workbook, result: ScreenResult) -> int:
    """Every row in input order with its verdict, header frozen, tiers coloured; the number of cells cut."""
    rows = report_rows(result)
    codes = {column for role in ("hs_code", "uscc") if (column := input_column(result, rows, role))}
    rows = with_numbers(rows, [column for column in input_columns(result) if column in rows.columns and column not in codes])
    sheet = write_sheet(workbook, "Results", rows)
    sheet.freeze_panes(1, 0)
    colour_tiers(workbook, sheet, rows)
    return overlong_cells(rows)


def write_candidates(workbook: xlsxwriter.Workbook, result: ScreenResult) -> int:
    """Every candidate of every row, header frozen; the number of cells cut."""
    candidates = report_candidates(result)
    write_sheet(workbook, "Candidates", candidates).freeze_panes(1, 0)
    return overlong_cells(candidates)


def write_summary(workbook: xlsxwriter.Workbook, result: ScreenResult) -> None:
    """Counts per tier (with a chart), per list and per fired rule."""
    tiers = tier_counts(result)
    lists = list_counts(result)
    sheet = write_sheet(workbook, "Summary", tiers, "A2", sized=False)
    sheet.write(0, 0, "Suppliers per risk tier", workbook.add_format({"bold": True}))
    lists_title_row = tiers.height + 4
    sheet.write(lists_title_row - 1, 0, "Suppliers per list (match = flagged, review = needs analyst review)",
                workbook.add_format({"bold": True}))
    write_sheet(workbook, "Summary", lists, f"A{lists_title_row + 1}", sized=False)
    rules = rule_counts(result)
    rules_title_row = lists_title_row + max(lists.height, 1) + 3
    sheet.write(rules_title_row - 1, 0, "Suppliers per fired rule", workbook.add_format({"bold": True}))
    write_sheet(workbook, "Summary", rules, f"A{rules_title_row + 1}", sized=False)
    size_stacked_columns(sheet, [tiers, lists, rules])
    chart = workbook.add_chart({"type": "bar"})
    chart.add_series({
        "name": "Suppliers",
        "categories": ["Summary", 2, 0, 1 + tiers.height, 0],
        "values": ["Summary", 2, 1, 1 + tiers.height, 1],
        "points": [{"fill": {"color": TIER_CELL_COLOURS[tier]["bg_color"]}} for tier in tiers["risk_tier"]],
    })
    chart.set_title({"name": "Suppliers per risk tier"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    sheet.insert_chart("E2", chart)


def write_sources(workbook: xlsxwriter.Workbook, result: ScreenResult, cut_cells: int = 0) -> None:
    """The snapshot of each list, then the run facts: tool and rules versions, thresholds, run time, cut cells."""
    snapshots = snapshots_frame(result.metadata)
    cut = f"{cut_cells:,}" + (" (each says so; the CSV and JSON reports keep the full text)" if cut_cells else "")
    facts = pl.concat([run_facts_frame(result), pl.DataFrame(
        {"fact": [f"cells cut to Excel's {EXCEL_MAX_CELL_CHARS:,}-character limit"], "value": [cut]})])
    sheet = write_sheet(workbook, "Sources", snapshots, "A2", sized=False)
    bold = workbook.add_format({"bold": True})
    sheet.write(0, 0, "List snapshots screened against", bold)
    facts_title_row = max(snapshots.height, 1) + 4
    sheet.write(facts_title_row - 1, 0, "Run", bold)
    write_sheet(workbook, "Sources", facts, f"A{facts_title_row + 1}", sized=False)
    size_stacked_columns(sheet, [snapshots, facts])


def document_properties(result: ScreenResult) -> dict[str, object]:
    """Title and creation time from the run, so the same run gives the same file."""
    metadata = result.metadata
    properties: dict[str, object] = {
        "title": f"Forced-labour risk screening: {metadata.get('input') or 'suppliers'}",
        "comments": f"tool {metadata.get('tool_version')}, rules {metadata.get('rules_version')}",
    }
    with contextlib.suppress(TypeError, ValueError):
        properties["created"] = dt.datetime.fromisoformat(str(metadata.get("run_at")))
    return properties


def write_xlsx(result: ScreenResult, path: Path, stage: Callable[[Path], Path]) -> None:
    """Write the four-sheet workbook."""
    workbook = xlsxwriter.Workbook(stage(path), copy.deepcopy(WORKBOOK_OPTIONS))  # xlsxwriter changes the options it is given
    workbook.set_properties(document_properties(result))
    try:
        for sheet in ("Results", "Candidates", "Summary", "Sources"):
            workbook.add_worksheet(sheet)
        cut_cells = write_results(workbook, result) + write_candidates(workbook, result)
        write_summary(workbook, result)
        write_sources(workbook, result, cut_cells)
    except BaseException:
        with contextlib.suppress(Exception):
            workbook.close()
        raise
    workbook.close()
