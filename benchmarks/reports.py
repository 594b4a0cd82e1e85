"""Time and size of each report format for a large screening result (default 100,000 rows).

Builds a synthetic ScreenResult (input columns, verdicts, about 2% matched and 3% review candidates),
writes CSV, JSON, XLSX and HTML reports and prints seconds and megabytes per format.

    python benchmarks/reports.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl

from screener.reports import SUPPORTED_FORMATS, write_report
from screener.result import TIERS, ScreenResult

NAMES = ["Golden Harbour Textile Co., Ltd.", "新疆中泰化学股份有限公司", "Bright Star Garment Limited", "Delta Agro GmbH"]


def synthetic_result(rows: int) -> ScreenResult:
    """A result shaped like the pipeline's: input columns, verdict columns and candidates joined with entities."""
    index = pl.int_range(0, rows, eager=True).alias("row").cast(pl.UInt32)
    frame = pl.DataFrame({"row": index}).with_columns(
        supplier=pl.lit(pl.Series(NAMES)).get(pl.col("row") % len(NAMES)) + " " + pl.col("row").cast(pl.String),
        country=pl.when(pl.col("row") % 3 == 0).then(pl.lit("CN")).otherwise(pl.lit("VN")),
        address=pl.lit("No. 18 Industrial Road, Shenzhen, Guangdong"),
        product=pl.lit("cotton knit shirts"),
        spend=(pl.col("row") * 37 % 100_000).cast(pl.String),
    )
    matched = pl.col("row") % 50 == 0
    review = pl.col("row") % 33 == 0
    rows_frame = frame.with_columns(
        name_missing=pl.lit(False),
        risk_tier=pl.when(matched).then(pl.lit("critical")).when(review).then(pl.lit("medium"))
        .otherwise(pl.lit(TIERS[-1])),
        risk_score=pl.when(matched).then(96.0).when(review).then(45.0).otherwise(0.0),
        match_name=pl.when(matched).then(pl.lit("Xinjiang Zhongtai Chemical Co., Ltd.")),
        match_source=pl.when(matched).then(pl.lit("uflpa")),
        match_list=pl.when(matched).then(pl.lit("UFLPA Entity List")),
        match_score=pl.when(matched).then(97.5),
        reasons=pl.when(matched).then(pl.lit("UFLPA Entity List: Xinjiang Zhongtai Chemical Co., Ltd. (UFLPA 2(d)(2)(B)(ii))"))
        .when(review).then(pl.lit("Name in the review band of BIS Entity List: needs analyst review")),
        fired_rules=pl.when(matched).then(pl.lit(["uflpa_entity"])).when(review).then(pl.lit(["review_band"]))
        .otherwise(pl.lit([], pl.List(pl.String))),
    )
    candidates = rows_frame.filter(matched | review).select(
        "row",
        entity_id=pl.lit("uflpa:0123456789ab"),
        matched_name=pl.lit("新疆中泰化学股份有限公司"),
        name_kind=pl.lit("alias"),
        name_lang=pl.lit("zh"),
        score=pl.when(matched).then(97.5).otherwise(75.0),
        band=pl.when(matched).then(pl.lit("match")).otherwise(pl.lit("review")),
        explanation=pl.lit("token similarity"),
        source=pl.lit("uflpa"),
        list_name=pl.lit("UFLPA Entity List"),
        list_kind=pl.lit("legal"),
        authority=pl.lit("US-DHS"),
        program=pl.lit("UFLPA 2(d)(2)(B)(ii)"),
        entity_type=pl.lit("organization"),
        name=pl.lit("Xinjiang Zhongtai Chemical Co., Ltd."),
        country=pl.lit("CN"),
        addresses=pl.lit("Urumqi"),
        sector=pl.lit("PVC"),
        merchandise=pl.lit(""),
        status=pl.lit("active"),
        start_date=pl.lit(dt.date(2023, 12, 1)),
        end_date=pl.lit(None, pl.Date),
        citation=pl.lit("Federal Register 2023-26460"),
        remarks=pl.lit(""),
        source_url=pl.lit("https://www.dhs.gov/uflpa-entity-list"),
        includes_affiliates=pl.lit(True),
    )
    metadata = {
        "tool_version": "bench", "rules_version": "bench", "thresholds": {"match": 88.0, "review": 70.0},
        "snapshots": [{"source": "uflpa", "title": "DHS UFLPA Entity List", "snapshot_id": 1, "as_of": "2025-01-15",
                       "url": "https://www.dhs.gov/uflpa-entity-list", "coverage": "", "origin": "embedded",
                       "sha256": "0" * 64}],
        "as_of": None, "run_at": "2026-11-23T00:00:00+00:00", "input": "bench.csv",
        "columns": {"name": "supplier", "country": "country", "address": "address", "product": "product"},
    }
    return ScreenResult(rows=rows_frame, candidates=candidates, metadata=metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    result = synthetic_result(rows)
    print(f"{rows} rows, {result.candidates.height} candidates")
    with tempfile.TemporaryDirectory() as folder:
        for format in SUPPORTED_FORMATS:
            path = Path(folder) / f"report.{format}"
            started = time.perf_counter()
            write_report(result, path)
            seconds = time.perf_counter() - started
            megabytes = sum(file.stat().st_size for file in Path(folder).glob("report.*")) / 1e6
            print(f"{format:>5}: {seconds:6.2f} s  {megabytes:7.1f} MB")
            for file in Path(folder).glob("report.*"):
                file.unlink()


if __name__ == "__main__":
    main()
