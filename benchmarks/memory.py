"""Peak memory and throughput of `screener screen` on a large supplier file (default 1,000,000 rows).

Runs the installed CLI as a child process on a generated CSV and prints wall time, rows/s, the child's
peak resident memory and whether every input row reached the report.

    python benchmarks/memory.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

LISTED = ["Xinjiang Zhongtai Chemical Co., Ltd.", "Hoshine Silicon Industry (Shanshan) Co., Ltd.", "新疆生产建设兵团"]
WORDS = ["Golden", "Harbour", "Textile", "Ocean", "Bright", "Star", "Delta", "Summit", "Pacific", "Garment",
         "Electronics", "Precision", "Agro", "Trading", "Industrial", "Green", "Sun", "Global", "Prime", "Metals"]
FORMS = ["Co., Ltd.", "Limited", "Inc.", "GmbH", "S.A.", "Company", "有限公司"]
PLACES = ["Shenzhen, Guangdong", "Ho Chi Minh City", "Dhaka", "Urumqi, Xinjiang", "Istanbul", "Lahore"]


def supplier_file(rows: int, folder: Path) -> Path:
    """A CSV of plausible supplier rows with a sprinkling of listed names."""
    index = pl.int_range(0, rows, eager=True)
    words = pl.Series(WORDS)
    frame = pl.DataFrame({"i": index}).select(
        supplier_id=pl.format("S{}", pl.col("i")),
        supplier_name=pl.when(pl.col("i") % 997 == 0)
        .then(pl.lit(pl.Series(LISTED)).gather(pl.col("i") % len(LISTED)))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit(words).gather(pl.col("i") % len(WORDS)),
                    pl.lit(words).gather((pl.col("i") // 7) % len(WORDS)),
                    pl.col("i").cast(pl.String),
                    pl.lit(pl.Series(FORMS)).gather(pl.col("i") % len(FORMS)),
                ],
                separator=" ",
            )
        ),
        country=pl.lit("CN"),
        address=pl.lit(pl.Series(PLACES)).gather(pl.col("i") % len(PLACES)),
        product=pl.lit("cotton yarn"),
    )
    path = folder / f"suppliers_{rows}.csv"
    frame.write_csv(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        source = supplier_file(args.rows, folder_path)
        report = folder_path / "report.csv"
        db = folder_path / "lists.duckdb"
        command = [sys.executable, "-m", "screener", "screen", str(source), "--out", str(report), "--db", str(db)]
        subprocess.run([sys.executable, "-m", "screener", "sources", "--db", str(db)], check=True,
                       capture_output=True)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        written = pl.scan_csv(report, infer_schema=False).select(pl.len()).collect().item()
        print(f"rows in:            {args.rows:,}")
        print(f"rows in report:     {written:,} (lost: {args.rows - written:,})")
        print(f"file size:          {source.stat().st_size / 2**20:,.1f} MiB")
        print(f"wall time:          {elapsed:,.1f} s")
        print(f"throughput:         {args.rows / elapsed:,.0f} rows/s")
        print(f"peak RSS (child):   {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
