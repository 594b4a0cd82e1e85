"""Workflow throughput: save a large portfolio, screen it, import bulk decisions, re-screen, monitor.

Usage: python benchmarks/workflow.py [--suppliers 20000] [--decisions 2000]
Builds the portfolio from examples/suppliers.csv, repeated with numbered variants so most rows are
unlisted and the listed ones keep matching; prints the time of each step and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from screener import casework
from screener.casework import add_portfolio, load_portfolio, run_monitor, screen_portfolio
from screener.columns import detect_columns
from screener.screening import Screener
from screener.store import Store
from screener.supplier_io import read_suppliers

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "suppliers.csv"


def portfolio_frame(size: int) -> pl.DataFrame:
    """`size` supplier rows: the example file, then numbered variants of its names."""
    example = read_suppliers(EXAMPLE)
    copies = pl.concat([example] * (size // example.height + 1)).head(size).with_row_index("n")
    return copies.with_columns(
        supplier_name=pl.when(pl.col("n") < example.height)
        .then(pl.col("supplier_name"))
        .otherwise(pl.format("{} Trading Branch {}", "supplier_name", "n"))
    ).drop("n")


def timed(label: str, action):
    start = time.perf_counter()
    value = action()
    print(f"{label:<44} {time.perf_counter() - start:7.2f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp()) / "workflow.duckdb"
    frame = portfolio_frame(args.suppliers)
    mapping = detect_columns(frame)
    screener = timed("load lists", lambda: Screener.from_db(db))

    def add() -> None:
        with Store(db) as store:
            add_portfolio(store, "bench", frame, mapping, "bench.csv")

    timed(f"save portfolio ({frame.height} suppliers)", add)
    first = timed("first screening + record run", lambda: screen_portfolio(db, "bench", screener, "add"))
    candidates = first.result.candidates.height
    reviewed = (
        first.result.candidates.head(args.decisions)
        .select("supplier_key", "entity_id", decision=pl.lit("false positive"), comment=pl.lit("benchmark"))
    )

    def bulk() -> int:
        with Store(db) as store:
            return len(casework.import_decisions(store, "bench", reviewed, "bench", "import:bench"))

    recorded = timed(f"import decisions ({reviewed.height} of {candidates} candidates)", bulk)
    second = timed("re-screen with decisions applied", lambda: screen_portfolio(db, "bench", screener))
    report = timed("monitor (re-screen + diff)", lambda: run_monitor(db, screener))
    with Store(db) as store:
        loaded = load_portfolio(store, "bench").frame.height
    dismissed = second.result.metadata["decision_states"].get("dismissed", 0)
    print(f"suppliers reloaded {loaded}, decisions recorded {recorded}, matches dismissed {dismissed}, "
          f"changes on re-screen {second.changes.height}, changes on monitor {report.changes.height}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024 * 1024)
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
