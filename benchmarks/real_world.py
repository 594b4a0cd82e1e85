"""Matching on real, public supplier data (../shared/real_world): the false positives that cost trust.

Screens `suppliers.csv` (6,047 real rows) and `lookalikes.csv` (150 real names) through the library path the
CLI uses, against the embedded lists, and prints:

- on `suppliers.csv`: critical/high rows; the hand-judged false positives of `flagged_review.csv` still
  critical/high (target: at most 1 of the 21); the true flags kept (target: all); critical/high rows that rest on a
  name match; name-based critical/high flags on the brand factory lists; and every critical/high row nobody has
  judged yet, for a hand check;
- on `lookalikes.csv`: recall on the listed names and false-positive rate on the unlisted ones (a row counts as
  predicted listed when it has a headline match, i.e. a list match at or above the match threshold).

    python benchmarks/real_world.py [--data ../shared/real_world] [--show-new]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from screener.screening import ScreenConfig, screen_file

DEFAULT_DATA = next(
    (folder / "shared" / "real_world" for folder in Path(__file__).resolve().parents if (folder / "shared").is_dir()),
    Path("../shared/real_world"),
)
FLAGGED = ("critical", "high")
FIRST_DATA_LINE = 2
"""`flagged_review.csv` numbers rows as spreadsheet lines: the header is line 1."""
ADDRESS_ONLY_RULES = {"xuar_address", "uscc_region", "high_priority_sector", "review_candidate", "xuar_name"}
BRAND_ORIGINS = ("opensupplyhub/",)


def screen(path: Path, db: Path) -> pl.DataFrame:
    """Every row of a file as the CLI screens it, with its 0-based position."""
    started = time.perf_counter()
    result = screen_file(path, db, config=ScreenConfig())
    print(f"screened {path.name}: {result.rows.height} rows in {time.perf_counter() - started:.1f} s")
    return result.rows


def name_based(fired: pl.Expr) -> pl.Expr:
    """True when a rule other than an address, registration or sector rule fired: the flag rests on a name."""
    return fired.list.eval(~pl.element().is_in(list(ADDRESS_ONLY_RULES))).list.any()


def suppliers_report(data: Path, db: Path, show_new: bool) -> None:
    rows = screen(data / "suppliers.csv", db).with_columns(line=pl.col("row") + FIRST_DATA_LINE)
    review = pl.read_csv(data / "flagged_review.csv", infer_schema=False).select(
        line=pl.col("row").cast(pl.Int64), verdict="verdict", judged_name="supplier_name"
    )
    flagged = rows.filter(pl.col("risk_tier").is_in(FLAGGED)).with_columns(on_name=name_based(pl.col("fired_rules")))
    judged = flagged.join(review, on="line", how="left")
    mismatched = judged.filter(pl.col("judged_name").is_not_null() & (pl.col("judged_name") != pl.col("supplier_name")))
    if not mismatched.is_empty():
        raise SystemExit(f"flagged_review.csv does not line up with suppliers.csv ({mismatched.height} rows differ)")
    verdicts = review.join(rows.select("line", "risk_tier", "match_name", "fired_rules"), on="line", how="left")
    still = verdicts.filter(pl.col("verdict") == "false_positive").filter(pl.col("risk_tier").is_in(FLAGGED))
    trues = verdicts.filter(pl.col("verdict") == "true")
    kept = trues.filter(pl.col("risk_tier").is_in(FLAGGED))
    brand = flagged.filter(pl.col("origin").str.starts_with(BRAND_ORIGINS[0]) & pl.col("on_name"))
    new = judged.filter(pl.col("verdict").is_null())
    print(f"critical/high rows: {flagged.height} ({flagged['on_name'].sum()} resting on a name match)")
    print(f"known false positives still critical/high: {still.height} of 21   (target <= 1)")
    print(f"known true flags kept critical/high: {kept.height} of {trues.height}   (target: all)")
    print(f"name-based critical/high on brand factory lists: {brand.height}   (target 0)")
    print(f"critical/high rows not judged yet: {new.height}")
    with pl.Config(tbl_rows=100, fmt_str_lengths=60, tbl_width_chars=200):
        if not still.is_empty():
            print(still.select("line", "judged_name", "risk_tier", "match_name", "fired_rules"))
        lost = trues.filter(~pl.col("risk_tier").is_in(FLAGGED))
        if not lost.is_empty():
            print("true flags lost:")
            print(lost.select("line", "judged_name", "risk_tier", "match_name"))
        if show_new and not new.is_empty():
            print(new.select("line", "supplier_name", "risk_tier", "match_name", "match_score", "fired_rules"))


def lookalikes_report(data: Path, db: Path) -> None:
    rows = screen(data / "lookalikes.csv", db).with_columns(predicted=pl.col("match_name").is_not_null())
    listed = rows.filter(pl.col("expected") == "listed")
    unlisted = rows.filter(pl.col("expected") == "not_listed")
    print(f"lookalikes recall (listed): {listed['predicted'].sum()}/{listed.height} = {listed['predicted'].mean():.3f}"
          "   (target >= 0.98)")
    print(f"lookalikes false-positive rate (not listed): {unlisted['predicted'].sum()}/{unlisted.height} = "
          f"{unlisted['predicted'].mean():.3f}   (target <= 0.02)")
    with pl.Config(tbl_rows=100, fmt_str_lengths=60, tbl_width_chars=200):
        misses = listed.filter(~pl.col("predicted"))
        if not misses.is_empty():
            print(misses.select("supplier_name", "risk_tier", "reasons"))
        alarms = unlisted.filter(pl.col("predicted"))
        if not alarms.is_empty():
            print(alarms.select("supplier_name", "match_name", "match_score"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show-new", action="store_true", help="list the critical/high rows nobody has judged")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "screener.duckdb"
        suppliers_report(args.data, db, args.show_new)
        lookalikes_report(args.data, db)


if __name__ == "__main__":
    main()
