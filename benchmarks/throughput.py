"""End-to-end throughput and peak memory of `screener screen FILE --out OUT`, paired with the I/O floor.

Writes supplier files with `benchmarks/speed.py`'s generator (all-distinct names: its rows with repeated names
dropped; repeating: the same parties drawn again and again, REPEAT rows per party on average; the large file: rows
drawn from --large-parties parties), runs the installed
CLI on each in a child process and prints rows/s, the child's CPU seconds (rows per CPU-second: the figure to compare
on a loaded machine), its peak resident memory and the load average, beside the floor measured in the same run: polars
reading the same CSV, a trivial normalisation (upper-cased, trimmed names) and writing it out. With --baseline, the same
runs use another checkout of the project (e.g. the main branch before a change), taking turns with it --rounds times,
so the two are paired on one loaded machine. Each checkout first screens a few rows, so that its matcher index (cached
on disk) is built before it is timed; --core runs every timed child on one CPU core, so that on a loaded machine the CPU
seconds count the work rather than polars' threads waiting for one another across cores.

    python benchmarks/throughput.py [--rows 100000 1000000] [--large 10000000] [--baseline /path/to/checkout]
                                    [--rounds 3] [--core 1]
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import suppliers

from screener.embedded import read_embedded

REPEAT = 10
MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - started
if done.returncode:
    sys.exit(done.stderr[-2000:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
"""
FLOOR = """
import sys
import polars as pl
frame = pl.read_csv(sys.argv[1], infer_schema=False)
frame.with_columns(pl.col(sys.argv[3]).str.strip_chars().str.to_uppercase().alias("normalised")).write_csv(sys.argv[2])
"""
"""The I/O floor: read a CSV (argument 1), normalise one column (argument 3: upper-cased, trimmed), write it (2)."""


def listed_names() -> list[str]:
    names = pl.concat([item.names for item in read_embedded()], how="vertical_relaxed")
    return names.filter(pl.col("lang") == "en")["name"].to_list()


def distinct_suppliers(rows: int, listed: list[str], seed: int = 7) -> pl.DataFrame:
    """`rows` suppliers with all-distinct names: the generator's rows, repeated names dropped."""
    rng = np.random.default_rng(seed)
    frame = suppliers(rng, int(rows * 1.3) + 1_000, listed).unique("name", keep="first", maintain_order=True)
    if frame.height < rows:
        raise SystemExit(f"the generator gave only {frame.height:,} distinct names for {rows:,} rows")
    return frame.head(rows)


def with_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The supplier-file columns: name, country, address, product."""
    return frame.select(
        "name", "country",
        address=pl.lit("No. 5 Industrial Road, ") + pl.col("row").mod(97).cast(pl.String) + pl.lit(" District"),
        product=pl.lit("cotton yarn"),
    )


def repeating(frame: pl.DataFrame, rows: int, seed: int = 11) -> pl.DataFrame:
    """`rows` rows drawn at random from the frame's first rows // REPEAT parties (all of them, at most)."""
    parties = frame.head(max(rows // REPEAT, 1))
    picks = np.random.default_rng(seed).integers(0, parties.height, rows)
    return parties[picks]


def large_file(distinct: pl.DataFrame, rows: int, parties: int, path: Path) -> Path:
    """A CSV of `rows` rows drawn from `parties` of the distinct suppliers, written a million rows at a time."""
    pool = distinct.head(parties)
    pool.head(0).write_csv(path)
    with path.open("ab") as file:
        for start in range(0, rows, 1_000_000):
            repeating(pool, min(1_000_000, rows - start), seed=start).write_csv(file, include_header=False)
    return path


def measure(
    command: list[str], checkout: Path | None = None, core: int | None = None
) -> tuple[float, float, float]:
    """Wall seconds, peak resident MiB and CPU seconds (user and system) of a child process, run with the screener of
    another checkout (None: the installed one) and on one core, if given."""
    pinned = None if core is None else functools.partial(os.sched_setaffinity, 0, {core})
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True,
                          env=checkout_env(checkout), cwd=checkout, preexec_fn=pinned)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:4])} ... failed: {done.stderr.strip()}")
    seconds, peak, cpu = done.stdout.split()
    return float(seconds), float(peak), float(cpu)


def screen_command(source: Path, out: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "screener", "screen", str(source), "--out", str(out), "--db", str(db)]


def checkout_env(checkout: Path | None) -> dict[str, str] | None:
    """The environment that runs `python -m screener` from another checkout (None: this one). The child also runs in
    that checkout: `python -m` puts the working folder first on the path, so a benchmark started from this checkout's
    root would otherwise import this screener, not the baseline's."""
    if checkout is None:
        return None
    return {**os.environ, "PYTHONPATH": str(checkout)}


def warm_up(frame: pl.DataFrame, work: Path, db: Path, baseline: Path | None, core: int | None) -> None:
    """Screen a few rows with this checkout and the baseline, so that each has built its matcher index (cached on
    disk, keyed by the code that builds it) before it is timed, as a user's second run finds it."""
    source = work / "warm_up.csv"
    frame.write_csv(source)
    for checkout in (None, baseline) if baseline else (None,):
        measure(screen_command(source, work / "warm_up_out.csv", db), checkout, core)


def report(label: str, rows: int, measured: tuple[float, float, float], floor: float | None = None) -> None:
    seconds, peak, cpu = measured
    times = f", {seconds / floor:4.1f}x the floor" if floor else ""
    print(f"{label:<44} {rows:>11,} rows {seconds:8.1f} s {rows / seconds:>9,.0f} rows/s  cpu {cpu:7.1f} s "
          f"{rows / cpu:>9,.0f} rows/cpu-s  peak {peak:>6,.0f} MiB{times}  load {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--large", type=int, default=10_000_000, help="rows screened to CSV and Parquet (0: skip)")
    parser.add_argument("--large-parties", type=int, default=100_000, help="distinct parties in the large file")
    parser.add_argument("--baseline", type=lambda path: Path(path).resolve(), help="another checkout to run the same files through")
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="largest file the baseline screens")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each file (taking turns with the baseline)")
    parser.add_argument("--core", type=int, help="run every timed child on this one CPU core: on a loaded machine the "
                        "CPU seconds then count the work, not polars' threads waiting for one another across cores")
    args = parser.parse_args()
    listed = listed_names()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        db = work / "lists.duckdb"
        subprocess.run([sys.executable, "-m", "screener", "sources", "--db", str(db)], check=True, capture_output=True)
        largest = max([*args.rows, args.large_parties if args.large else 0])
        distinct = with_columns(distinct_suppliers(largest, listed))
        warm_up(distinct.head(10), work, db, args.baseline, args.core)
        for rows in args.rows:
            for kind, frame in (("distinct", distinct.head(rows)), ("repeating", repeating(distinct, rows))):
                source = work / f"{kind}_{rows}.csv"
                frame.write_csv(source)
                floor = measure([sys.executable, "-c", FLOOR, str(source), str(work / "floor.csv"), "name"],
                                core=args.core)
                report(f"floor (polars read, normalise, write) {kind}", rows, floor)
                for _ in range(args.rounds):
                    report(f"screener screen --out csv, {kind} names", rows,
                           measure(screen_command(source, work / "out.csv", db), core=args.core), floor[0])
                    if args.baseline and rows <= args.baseline_rows:
                        measured = measure(screen_command(source, work / "base.csv", db), args.baseline, args.core)
                        report(f"  baseline {args.baseline.name}, {kind} names", rows, measured, floor[0])
                source.unlink()
        if args.large:
            source = large_file(distinct, args.large, args.large_parties, work / f"large_{args.large}.csv")
            for suffix in ("csv", "parquet"):
                report(f"screener screen --out {suffix}, {args.large_parties:,} parties", args.large,
                       measure(screen_command(source, work / f"out.{suffix}", db), core=args.core))
                written = pl.scan_parquet(work / "out.parquet") if suffix == "parquet" else pl.scan_csv(
                    work / "out.csv", infer_schema=False)
                print(f"  rows in the report: {written.select(pl.len()).collect().item():,}", flush=True)
                (work / f"out.{suffix}").unlink()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"benchmark wall time {time.perf_counter() - started:,.0f} s")
