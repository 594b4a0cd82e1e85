"""Time and size of each report format for a large screening result (default 100,000 rows).

Screens generated supplier rows (`throughput.py`'s all-distinct generator: 2% listed names in supplier spellings,
every row with an address and a product) against the embedded lists with the library call the CLI makes, then
writes the result as each report format and prints seconds and megabytes per format. The result is the pipeline's
own, so the reports are timed on the columns and candidates they are given in use.

    python benchmarks/reports.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import distinct_suppliers, listed_names, with_columns

from screener.reports import SUPPORTED_FORMATS, write_report
from screener.screening import screen_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        suppliers = work / "suppliers.csv"
        with_columns(distinct_suppliers(rows, listed_names())).write_csv(suppliers)
        started = time.perf_counter()
        result = screen_file(suppliers, work / "screener.duckdb")
        print(
            f"{rows:,} rows screened in {time.perf_counter() - started:.1f} s: {result.candidates.height:,} candidates, "
            f"{result.rows.filter(result.rows['risk_tier'] != 'clear').height:,} rows not clear"
        )
        for format in SUPPORTED_FORMATS:
            path = work / f"report.{format}"
            started = time.perf_counter()
            write_report(result, path)
            seconds = time.perf_counter() - started
            written = sorted(work.glob("report.*"))
            megabytes = sum(file.stat().st_size for file in written) / 1e6
            print(f"{format:>7}: {seconds:6.2f} s  {megabytes:7.1f} MB ({len(written)} files)")
            for file in written:
                file.unlink()


if __name__ == "__main__":
    main()
