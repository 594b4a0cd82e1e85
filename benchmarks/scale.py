"""Shipment screening at scale: one process against Apache Spark local[1] and local[2] on the same generated file.

Generates bill-of-lading rows (shipper, consignee, notify party, manufacturer, goods, HS code) whose parties repeat as
in trade data (a few exporters ship most rows), in several languages and scripts, with a few percent of the parties
taken from the lists in force; then runs the installed CLI on it, as users do:

    screener screen shipments.csv --out report.csv                                           (one process)
    screener screen shipments.csv --engine spark --spark-master local[N] --out report.parquet (Spark, N cores)

and prints rows/s, the peak memory of each run (Spark: the JVM, which is driver and executor in local mode, and its
Python workers), beside the floor (polars reading the same CSV, normalising one column and writing it out), the
size of the broadcast plan, and what a cluster would take for 100M and 1B rows. It first screens a supplier file of
all-distinct names in one process, beside its floor (the worst case for throughput: nothing repeats).

    python benchmarks/scale.py [--rows 1000000 10000000] [--engines local spark1 spark2] [--spark-max-rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import FLOOR, distinct_suppliers, listed_names, with_columns

from screener.screening import Screener
from screener.spark import plan_for

PLACES = ["Zhejiang", "Jiangsu", "Guangdong", "Shandong", "Fujian", "Ningbo", "Qingdao", "Xiamen", "Suzhou", "Dongguan"]
TRADE_SYLLABLES = ["Hua", "Xin", "Da", "Feng", "Long", "Tai", "Sheng", "Yuan", "Jin", "Hong", "Mei", "Kang", "Rui", "Heng"]
INDUSTRIES = ["Textile", "Garment", "Chemical", "Electronics", "Import & Export", "Machinery", "Solar Technology",
              "Aluminium Products", "Plastic Products", "Food"]
CN_PLACES = ["浙江", "江苏", "广东", "山东", "福建", "宁波", "青岛", "厦门"]
CN_TRADE = ["华", "新", "达", "丰", "隆", "泰", "盛", "源", "金", "宏", "美", "康"]
CN_INDUSTRIES = ["纺织", "服装", "化工", "电子", "进出口", "机械", "光伏科技", "铝业"]
OTHER_STYLES = [
    ("VN", "Cong Ty TNHH {} {}", "Ho Chi Minh City"), ("TR", "{} {} Tekstil Sanayi ve Ticaret A.S.", "Istanbul"),
    ("IN", "{} {} Exports Pvt Ltd", "Tiruppur, Tamil Nadu"), ("BD", "{} {} Apparels Ltd", "Gazipur, Dhaka"),
    ("MY", "{} {} Sdn Bhd", "Klang, Selangor"),
]
LATIN_WORDS = ["Golden", "Harbour", "Ocean", "Bright", "Star", "Delta", "Summit", "Pacific", "Green", "Sun", "Prime",
               "Royal", "Silver", "Eastern", "United", "Grand"]
CONSIGNEE_FORMS = ["Inc.", "LLC", "Corp.", "GmbH", "B.V.", "Ltd"]
GOODS = [
    ("cotton knitted t-shirts", "6109.10"), ("men's denim jeans", "6203.42"), ("PVC resin SG-5", "3904.10"),
    ("polysilicon wafers", "3818.00"), ("solar modules 410W", "8541.43"), ("tomato paste in drums", "2002.90"),
    ("aluminium extrusion profiles", "7604.29"), ("steel wire rod", "7213.91"), ("wooden bedroom furniture", "9403.50"),
    ("plastic toys", "9503.00"), ("LED lamps", "8539.50"), ("laptop computers", "8471.30"), ("ceramic tiles", "6907.21"),
    ("frozen shrimp", "0306.17"), ("bicycle parts", "8714.91"), ("polyester yarn", "5402.33"), ("red dates, dried", "0813.40"),
    ("lithium-ion batteries", "8507.60"), ("caustic soda flakes", "2815.11"), ("leather handbags", "4202.21"),
]
LISTED_SHARE = {"Manufacturer": 0.03, "Shipper": 0.01}
"""Share of the party cells filled with a name from the lists (as the list writes it, or in upper case)."""


def party_pool(rng: np.random.Generator, size: int) -> pl.DataFrame:
    """Exporting companies: name, country, address, in pinyin, Chinese script and other countries' styles."""
    kinds = rng.choice(3, size=size, p=[0.5, 0.25, 0.25])
    names, countries, addresses = [], [], []
    for index, kind in enumerate(kinds):
        pick = rng.integers(0, 1_000_000, size=4)
        if kind == 0:
            trade = TRADE_SYLLABLES[pick[0] % 14] + TRADE_SYLLABLES[pick[1] % 14].lower()
            place = PLACES[pick[2] % len(PLACES)]
            names.append(f"{place} {trade} {INDUSTRIES[pick[3] % len(INDUSTRIES)]} Co., Ltd. {index}")
            countries.append("CN")
            addresses.append(f"No. {pick[0] % 900 + 1} Industrial Road, {place}, China")
        elif kind == 1:
            place = CN_PLACES[pick[2] % len(CN_PLACES)]
            trade = CN_TRADE[pick[0] % 12] + CN_TRADE[pick[1] % 12]
            names.append(f"{place}{trade}{CN_INDUSTRIES[pick[3] % len(CN_INDUSTRIES)]}有限公司{index}")
            countries.append("CN")
            addresses.append(f"{place}工业园{pick[0] % 90 + 1}号")
        else:
            country, form, city = OTHER_STYLES[pick[2] % len(OTHER_STYLES)]
            names.append(form.format(LATIN_WORDS[pick[0] % 16], f"{LATIN_WORDS[pick[1] % 16]} {index}"))
            countries.append(country)
            addresses.append(city)
    return pl.DataFrame({"name": names, "country": countries, "address": addresses})


def zipf_picks(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """Row → pool index, a few parties taking most rows (Zipf), as exporters do in bills of lading."""
    return (rng.zipf(1.2, size=rows) - 1) % size


def shipments(rows: int, listed: list[str], seed: int = 7) -> pl.DataFrame:
    """Bill-of-lading rows with repeating, multilingual parties and a few percent of listed ones."""
    rng = np.random.default_rng(seed)
    exporters = party_pool(rng, max(2_000, rows // 40))
    consignees = pl.Series(
        [f"{LATIN_WORDS[i % 16]} {LATIN_WORDS[(i // 16) % 16]} Home {i} {CONSIGNEE_FORMS[i % 6]}" for i in range(max(300, rows // 400))]
    )
    forwarders = pl.Series([f"{LATIN_WORDS[i % 16]} Logistics {i} Inc." for i in range(60)])
    goods = pl.DataFrame(GOODS, schema=["goods", "hs"], orient="row")
    shipper = exporters[zipf_picks(rng, rows, exporters.height)]
    makers = zipf_picks(rng, rows, exporters.height)
    maker = exporters[makers]
    # a manufacturer makes one or two kinds of goods
    kinds = (makers * 7 + (rng.random(rows) < 0.2)) % len(GOODS)
    consignee = consignees.gather(zipf_picks(rng, rows, consignees.len()))
    notify = pl.Series(np.where(rng.random(rows) < 0.5, consignee.to_numpy(), forwarders.gather(rng.integers(0, 60, rows)).to_numpy()))
    frame = pl.DataFrame({
        "Bill of Lading": pl.select(pl.format("MAEU{}", pl.int_range(rows) + 100_000_000)).to_series(),
        "Shipper": shipper["name"], "Shipper Address": shipper["address"], "Shipper Country": shipper["country"],
        "Consignee": consignee, "Notify Party": notify,
        "Manufacturer": maker["name"], "Manufacturer Address": maker["address"], "Country of Origin": maker["country"],
        "Goods Description": goods["goods"].gather(kinds),
    }).with_columns(pl.lit(None, pl.String).alias("HS Code"))
    frame = frame.with_columns(
        pl.col("Goods Description").replace_strict(dict(GOODS), return_dtype=pl.String).alias("HS Code")
    )
    listed_names = pl.Series(listed)
    for column, share in LISTED_SHARE.items():
        chosen = rng.random(rows) < share
        names = listed_names.gather(rng.integers(0, len(listed), rows))
        upper = rng.random(rows) < 0.5
        frame = frame.with_columns(
            pl.when(pl.Series(chosen)).then(pl.when(pl.Series(upper)).then(names.str.to_uppercase()).otherwise(names))
            .otherwise(pl.col(column)).alias(column)
        )
    return frame


class PeakMemory:
    """Samples the resident memory of a process tree (every 0.5 s): peak of the whole tree, of Java processes
    (the JVM: driver and executor in local mode), of the Python workers of Spark together and of the largest one."""

    def __init__(self, root: int):
        self.root = root
        self.peaks = {"tree": 0, "jvm": 0, "python workers": 0, "largest python worker": 0}
        self.cpu_ticks: dict[int, int] = {}
        """Per process of the tree, the last CPU time seen (its own user + system time)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            tree = descendants(self.root)
            rss = {pid: resident_bytes(pid) for pid in tree}
            self.cpu_ticks.update({pid: ticks for pid in tree if (ticks := cpu_ticks(pid))})
            commands = {pid: command_line(pid) for pid in tree}
            workers = [rss[pid] for pid in tree if "pyspark" in commands[pid] and "java" not in commands[pid]]
            sample = {
                "tree": sum(rss.values()),
                "jvm": sum(rss[pid] for pid in tree if "java" in commands[pid]),
                "python workers": sum(workers),
                "largest python worker": max(workers, default=0),
            }
            self.peaks = {key: max(value, sample[key]) for key, value in self.peaks.items()}


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # its own utime and stime (children are sampled themselves)
    except (OSError, IndexError, ValueError):
        return 0


def resident_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, dict[str, int]]:
    """Wall time, CPU time (user + system, of every process of the tree that was waited for) and peak memory of a
    command; on a loaded machine the CPU time is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    with PeakMemory(process.pid) as memory:
        _, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {stderr.strip().splitlines()[-1:]}")
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampled = sum(memory.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")  # also processes nobody waited for
    cpu = max(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, sampled)
    return elapsed, cpu, dict(memory.peaks)


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "spark1", "spark2"], choices=["local", "spark1", "spark2"])
    parser.add_argument("--spark-max-rows", type=int, default=1_000_000,
                        help="Larger files are screened in one process only (Spark on 2 shared cores is too slow).")
    parser.add_argument("--distinct-rows", type=int, default=1_000_000,
                        help="Rows of the all-distinct supplier file screened in one process (0: skip).")
    parser.add_argument("--folder", type=Path, default=None, help="Where to write the generated files (default: a temporary folder).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        work = Path(folder)
        db = work / "lists.duckdb"
        screener = Screener.from_db(db)
        listed = screener.lists.names["name"].unique().sort().to_list()
        plan = plan_for(["Shipper", "Consignee", "Manufacturer"], screener)
        print(f"broadcast plan (lists, matcher, rules): {len(pickle.dumps(plan)) / 2**20:.1f} MiB pickled, "
              f"{len(listed):,} listed names", flush=True)
        if args.distinct_rows:
            all_distinct(args.distinct_rows, work, db)
        per_cpu_second: dict[tuple[str, int], float] = {}
        for rows in args.rows:
            started = time.perf_counter()
            frame = shipments(rows, listed)
            source = work / f"shipments_{rows}.csv"
            frame.write_csv(source)
            parties = sum(frame[column].n_unique() for column in ("Shipper", "Consignee", "Notify Party", "Manufacturer"))
            print(f"\n{rows:,} rows ({source.stat().st_size / 2**20:,.0f} MiB CSV, {parties:,} distinct party names, "
                  f"generated in {time.perf_counter() - started:.0f} s)", flush=True)
            del frame
            floor, _, floor_peaks = run([sys.executable, "-c", FLOOR, str(source), str(work / "floor.csv"), "Shipper"])
            print(f"  {'floor':7} {floor:8.0f} s  {rows / floor:9,.0f} rows/s  (polars read, normalise, write)  "
                  f"peak: {gib(floor_peaks['tree'])}", flush=True)
            rates: dict[str, float] = {}
            for engine in args.engines:
                if engine != "local" and rows > args.spark_max_rows:
                    print(f"  {engine:7} skipped (--spark-max-rows {args.spark_max_rows:,})", flush=True)
                    continue
                seconds, cpu, peaks = run([*engine_command(engine, source, work), "--db", str(db)],
                                          env={"PYSPARK_SUBMIT_ARGS": "--driver-memory 4g pyspark-shell"})
                rates[engine] = rows / seconds
                per_cpu_second[(engine, rows)] = rows / cpu
                memory = ", ".join(f"{name} {gib(value)}" for name, value in peaks.items() if value)
                print(f"  {engine:7} {seconds:8.0f} s  {rows / seconds:9,.0f} rows/s  CPU {cpu:7.0f} s "
                      f"({rows / cpu:,.0f} rows per CPU-second)  {seconds / floor:5.1f}x the floor  peak: {memory}"
                      f"{screened_parties(engine, work)}", flush=True)
            if "spark1" in rates and "spark2" in rates:
                print(f"  local[2] / local[1] throughput: {rates['spark2'] / rates['spark1']:.2f}x", flush=True)
            source.unlink()
        cluster_arithmetic(per_cpu_second)


def engine_command(engine: str, source: Path, work: Path) -> list[str]:
    """The CLI command users run: one process to CSV, or Spark local[N] to Parquet."""
    command = [sys.executable, "-m", "screener", "screen", str(source)]
    if engine == "local":
        return [*command, "--out", str(work / "out.csv")]
    return [*command, "--engine", "spark", "--spark-master", f"local[{engine[-1]}]", "--out", str(work / "out.parquet")]


def screened_parties(engine: str, work: Path) -> str:
    """How many distinct parties a Spark run screened (from its sources file)."""
    if engine == "local":
        return ""
    sources = pl.read_parquet(work / "out.sources.parquet" / "*.parquet")
    return f", {int(sources['parties_screened'][0]):,} distinct parties screened"


def all_distinct(rows: int, work: Path, db: Path) -> None:
    """One process on a supplier file whose names are all distinct (benchmarks/throughput.py's), beside the floor."""
    source = work / f"distinct_{rows}.csv"
    with_columns(distinct_suppliers(rows, listed_names())).write_csv(source)
    floor, _, floor_peaks = run([sys.executable, "-c", FLOOR, str(source), str(work / "floor.csv"), "name"])
    seconds, cpu, peaks = run([*engine_command("local", source, work), "--db", str(db)])
    print(f"\n{rows:,} supplier rows, all names distinct: floor (polars read, normalise, write) {floor:.0f} s "
          f"({rows / floor:,.0f} rows/s, peak {gib(floor_peaks['tree'])}); one process {seconds:.0f} s "
          f"({rows / seconds:,.0f} rows/s, CPU {cpu:.0f} s, peak {gib(peaks['tree'])}), {seconds / floor:.1f}x the floor",
          flush=True)
    source.unlink()


def cluster_arithmetic(per_cpu_second: dict[tuple[str, int], float]) -> None:
    """What N executors of 4 cores would take for 100M and 1B rows, at the rows per CPU-second Spark measured here
    (every core busy, as a cluster's are; the one-off start and broadcast of a few seconds left out)."""
    measured = [rows for engine, rows in per_cpu_second if engine.startswith("spark")]
    if not measured:
        return
    rows = max(measured)
    per_core = min(rate for (engine, size), rate in per_cpu_second.items() if engine.startswith("spark") and size == rows)
    print(f"\nAt {per_core:,.0f} rows per CPU-second (Spark, {rows:,} rows), on 4-core executors:")
    for total in (100_000_000, 1_000_000_000):
        hours = ", ".join(f"{executors} executors {total / (per_core * 4 * executors) / 3600:.2f} h" for executors in (10, 50, 100))
        print(f"  {total:>13,} rows: {hours}")


if __name__ == "__main__":
    main()
