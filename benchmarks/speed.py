"""Matcher speed, memory and blocking recall on generated supplier files and watchlists.

Screens generated supplier rows (multilingual company names, some variants of listed names) against
the embedded lists plus a generated watchlist, prints rows/s at 5k, 50k and 500k watchlist names,
peak resident memory, single-name latency (p50/p95, warm) of the matcher and of `Screener.check`, and
compares a sample with an exhaustive rapidfuzz scan of every list name: a pair the scan finds
near-identical must not be lost.

With `--baseline DIR` (a checkout of another version, e.g. `git worktree add /tmp/base <commit>`) it measures the
figures users feel, each in fresh processes taking turns with the same figure of DIR: `Screener.check` warm p50/p95
(as the library calls it, in a process on one core as `screener check` and each service worker run, and as the web
app's Check page calls it: on one core for the check only, `latency-check-page`), a cold `screener check` (see
below), the index build (cold and cached) and rows/s at 50k and 500k watchlist names — and prints them side by side
with their ratio. A watchlist's index is built and cached in one interpreter, and read back and matched with in a
fresh one, as `screener screen` meets it.

The cold check is `screener check NAME --country CN` started as a user starts it, `--cold-runs` times for each tree in
turn (A B A B ...) on a database of its own that a first run prepared (lists loaded, index cached on disk, bytecode
compiled as an installed package's is), with `python -c "import screener.cli"` timed the same way: medians of wall and
CPU seconds (this process's accounting of each finished child), and the median of the pairwise ratios.

    python benchmarks/speed.py [--rows 100000] [--sample 1000] [--baseline DIR] [--rounds 3] [--cold-runs 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from screener.embedded import read_embedded
from screener.matching import MatchConfig, Matcher
from screener.normalize import normalize_series
from screener.screening import Screener
from screener.transliterate import PINYIN_SYLLABLES

SYLLABLES = sorted(PINYIN_SYLLABLES)
PLACES = (
    "Shenzhen Guangzhou Ningbo Hangzhou Suzhou Wuxi Qingdao Xiamen Tianjin Shanghai Beijing Dongguan "
    "Foshan Jiangsu Zhejiang Shandong Hebei Henan Anhui Fujian Xinjiang Urumqi Hetian Kashgar"
).split()
INDUSTRY = (
    "Textile|Garment|Apparel|Cotton|Electronic Technology|Information Technology|Chemical|New Energy|"
    "Solar|Silicon|Metals|Machinery|Trading|Import & Export|Food|Agricultural Development|Logistics|"
    "Knitting|Plastics|Packaging|Auto Parts|Furniture|Footwear|Toys|Lighting"
).split("|")
FORMS = [
    "Co., Ltd.",
    "Co. Ltd",
    "Company Limited",
    "Limited",
    "Group Co., Ltd.",
    "Corp.",
    "Inc.",
    "Industrial Co., Ltd.",
]
HAN = list("华中泰新宏盛龙丰源达天金宝富安康美丽海明瑞祥恒通诚光宇万佳德森联创科时益润阳浩鼎兴奇")
HAN_INDUSTRY = ["纺织", "服装", "电子科技", "化工", "新能源", "贸易", "食品", "机械", "棉业", "硅业"]
FOREIGN = [
    "Global Textiles",
    "Pacific Apparel",
    "Dhaka Knit Composite",
    "Anatolia Tekstil",
    "Saigon Garment",
    "Lahore Cotton Mills",
    "Mekong Footwear",
    "Delta Packaging",
    "Summit Electronics",
    "Prime Foods",
]


def pick(rng: np.random.Generator, options: list[str], size: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), size)]


def latin_names(rng: np.random.Generator, size: int) -> list[str]:
    """Chinese company names in English: place, pinyin brand, industry, legal form."""
    brand = [a.capitalize() + b for a, b in zip(pick(rng, SYLLABLES, size), pick(rng, SYLLABLES, size), strict=True)]
    place = pick(rng, PLACES, size)
    with_place = rng.random(size) < 0.6
    return [
        f"{p + ' ' if w else ''}{b} {i} {f}"
        for p, w, b, i, f in zip(place, with_place, brand, pick(rng, INDUSTRY, size), pick(rng, FORMS, size), strict=True)
    ]


def han_names(rng: np.random.Generator, size: int) -> list[str]:
    brand = ["".join(chars) for chars in zip(pick(rng, HAN, size), pick(rng, HAN, size), strict=True)]
    return [f"{b}{i}有限公司" for b, i in zip(brand, pick(rng, HAN_INDUSTRY, size), strict=True)]


def listed_variants(rng: np.random.Generator, listed: list[str], size: int) -> list[str]:
    """Listed names as suppliers write them: upper case, legal form swapped, one typo."""
    chosen = pick(rng, listed, size)
    variants = []
    for name, kind, position in zip(chosen, rng.integers(0, 3, size), rng.random(size), strict=True):
        if kind == 0:
            variants.append(name.upper())
        elif kind == 1:
            variants.append(name.replace("Co., Ltd.", "Company Limited"))
        else:
            cut = max(1, int(position * (len(name) - 1)))
            variants.append(name[:cut] + name[cut + 1 :])
    return variants


def suppliers(rng: np.random.Generator, rows: int, listed: list[str]) -> pl.DataFrame:
    """A realistic supplier file: mostly unlisted Chinese and foreign firms, 2% variants of listed names."""
    listed_count, han_count, foreign_count = rows // 50, rows // 10, rows // 10
    names = (
        latin_names(rng, rows - listed_count - han_count - foreign_count)
        + han_names(rng, han_count)
        + list(pick(rng, FOREIGN, foreign_count))
        + listed_variants(rng, listed, listed_count)
    )
    order = rng.permutation(rows)
    countries = pick(rng, ["CN", "CN", "CN", "VN", "BD", None], rows).tolist()  # polars cannot cast an object array that begins with None
    return pl.DataFrame(
        {
            "row": np.arange(rows, dtype=np.int64),
            "name": [names[i] for i in order],
            "country": countries,
            "address": [None] * rows,
        },
        schema={"row": pl.Int64, "name": pl.String, "country": pl.String, "address": pl.String},
    )


def watchlist(rng: np.random.Generator, size: int, *, normalised: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generated list entities and names the size of a consolidated screening list (with their normalised form, or
    without it, to be normalised by the index build)."""
    ids = [f"csl:{i:012x}" for i in range(size)]
    names = latin_names(rng, size)
    entities = pl.DataFrame(
        {
            "entity_id": ids,
            "country": pick(rng, ["CN", "HK", "RU", "IR", ""], size),
            "entity_type": ["organization"] * size,
            "includes_affiliates": [False] * size,
        }
    )
    frame = pl.DataFrame({"entity_id": ids, "name": names, "kind": ["primary"] * size, "lang": ["en"] * size})
    if not normalised:
        return frame, entities
    return frame.with_columns(norm=normalize_series(frame["name"], listed=True)), entities


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(
    embedded_names: pl.DataFrame, embedded_entities: pl.DataFrame, extra: int, rng: np.random.Generator
) -> tuple[Matcher, pl.DataFrame]:
    names, entities = watchlist(rng, extra)
    all_names = pl.concat([embedded_names, names], how="diagonal_relaxed")
    all_entities = pl.concat([embedded_entities, entities], how="diagonal_relaxed")
    return Matcher(all_names, all_entities, MatchConfig()), all_names


def throughput(matcher: Matcher, queries: pl.DataFrame, chunk: int = 5_000) -> tuple[float, int]:
    """Rows per second screening in the pipeline's chunk size, and candidates found."""
    start = time.perf_counter()
    found = sum(matcher.match(queries.slice(offset, chunk)).height for offset in range(0, queries.height, chunk))
    return queries.height / (time.perf_counter() - start), found


def exhaustive_losses(matcher: Matcher, sample: pl.DataFrame, chunk: int = 100) -> tuple[int, int]:
    """Candidates an exhaustive scan of every list name finds that blocked matching loses: (found, lost)."""
    expected, lost = 0, 0
    for offset in range(0, sample.height, chunk):
        part = sample.slice(offset, chunk)
        baseline = matcher.match(part, exhaustive=True).select("row", "entity_id")
        blocked = matcher.match(part).select("row", "entity_id")
        expected += baseline.height
        lost += baseline.join(blocked, on=["row", "entity_id"], how="anti").height
    return expected, lost


def latency(check, names: list[str], calls: int) -> tuple[float, float]:
    """p50 and p95 in ms of `check(name, "CN")` over `calls` names, after 20 warm-up calls on other names (a name
    checked again would be read from the readings kept of it, screener.recent, which are dropped first)."""
    forget_recent_readings()
    for name in names[:20]:
        check(name, "CN")
    timings = []
    for name in names[20 : 20 + calls]:
        start = time.perf_counter()
        check(name, "CN")
        timings.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


def forget_recent_readings() -> None:
    """Drop the readings of names this process keeps (screener.recent; a version without them keeps none)."""
    try:
        from screener.recent import forget_all
    except ImportError:
        return
    forget_all()


def check_latency(matcher: Matcher, names: list[str], calls: int = 300) -> tuple[float, float]:
    return latency(matcher.check, names, calls)


def screener_check_latency(names: list[str], calls: int = 200) -> tuple[float, float]:
    """`Screener.check` — the path `screener check`, the web app's Check page and a service call — on the embedded
    lists: matching, rules and the cited verdict, warm."""
    with tempfile.TemporaryDirectory() as folder:
        return latency(Screener.from_db(Path(folder) / "screener.duckdb").check, names, calls)


def as_check_page(screener: Screener):
    """`Screener.check` as the web app's Check page calls it: every thread on one core for the check only, in a
    process whose threads otherwise roam (a version without `on_one_core` checks as the library does)."""
    try:
        from screener.cpu import on_one_core
    except ImportError:
        return screener.check

    def check(name: str, country: str | None):
        with on_one_core():
            return screener.check(name, country)

    return check


REPO = Path(__file__).resolve().parents[1]


def embedded_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    lists = read_embedded()
    entities = pl.concat([item.entities for item in lists], how="vertical_relaxed")
    names = pl.concat([item.names for item in lists], how="vertical_relaxed")
    return names, entities


def measure(figure: str, folder: Path) -> dict[str, float]:
    """One figure of the code on sys.path (run in a fresh process per figure and version)."""
    if figure.startswith("latency"):
        names, _ = embedded_frames()
        queries = suppliers(np.random.default_rng(7), 2_000, names.filter(pl.col("lang") == "en")["name"].to_list())
        screener = Screener.from_db(folder / "screener.duckdb")
        check = as_check_page(screener) if figure == "latency-check-page" else screener.check
        # each name once: a name met again would be read from the readings kept of it (screener.recent)
        p50, p95 = latency(check, queries["name"].unique(maintain_order=True).to_list(), 300)
        return {"p50 ms": p50, "p95 ms": p95}
    size = int(figure.removeprefix("watchlist-").removesuffix("-cached"))
    all_names, all_entities, listed = watchlist_lists(size)
    if figure.endswith("-cached"):
        return cached_throughput(all_names, all_entities, listed, folder)
    start = time.perf_counter()
    Matcher(all_names, all_entities, MatchConfig())
    figures = {"build s": time.perf_counter() - start}
    with contextlib.suppress(TypeError):  # a version without the index cache has none to write
        Matcher(all_names, all_entities, MatchConfig(), cache_dir=folder)  # the index cache the next stage reads
    return figures


def watchlist_lists(size: int) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """The embedded lists' names and entities with `size` generated watchlist names, and the listed English names
    the supplier generator spells."""
    names, entities = embedded_frames()
    extra_names, extra_entities = watchlist(np.random.default_rng(7), size, normalised=False)
    return (
        pl.concat([names, extra_names], how="diagonal_relaxed"),
        pl.concat([entities, extra_entities], how="diagonal_relaxed"),
        names.filter(pl.col("lang") == "en")["name"].to_list(),
    )


def cached_throughput(
    all_names: pl.DataFrame, all_entities: pl.DataFrame, listed: list[str], folder: Path
) -> dict[str, float]:
    """As `screener screen` meets the lists: a fresh process reading the index cached beside the database. Matching
    rows/s is timed after a first match of 200 other rows, whose one-time costs (loading the pinyin dictionaries)
    do not grow with the lists."""
    figures = {}
    try:
        start = time.perf_counter()
        matcher = Matcher(all_names, all_entities, MatchConfig(), cache_dir=folder)
        figures["cached build s"] = time.perf_counter() - start
    except TypeError:  # a version without the index cache
        matcher = Matcher(all_names, all_entities, MatchConfig())
    matcher.match(suppliers(np.random.default_rng(13), 200, listed))
    rate, _ = throughput(matcher, suppliers(np.random.default_rng(11), 20_000, listed))
    return {**figures, "rows/s": rate}


def measured(figure: str, root: Path) -> dict[str, float]:
    """`measure` in a fresh interpreter importing the screener of `root`, in a fresh folder; for `-one-core` figures
    every thread of that interpreter runs on one core, as `screener check` and each service worker run
    (screener.cpu; set from outside here, so that a baseline without it is measured the same way)."""
    one_core = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if figure.endswith("-one-core") else None
    # a watchlist's index is built (and cached) in one interpreter and read back and matched with in the next
    stages = [figure, f"{figure}-cached"] if figure.startswith("watchlist-") else [figure]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONPATH": str(root), "SCREENER_DB": str(Path(folder) / "screener.duckdb")}
        for stage in stages:
            command = [sys.executable, __file__, "--measure", stage, "--folder", folder]
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=True, preexec_fn=one_core)
            figures.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return figures


FIGURES = ("latency", "latency-one-core", "latency-check-page", "cold", "watchlist-50000", "watchlist-500000")
COLD_NAME = "Xinjiang Zhongtai Chemical"


def fresh_python(root: Path, bytecode: Path) -> dict[str, str]:
    """The environment of an interpreter importing the screener of `root`, its bytecode cached under `bytecode` (as an
    installed package's is, without writing into the checkout)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONPYCACHEPREFIX": str(bytecode)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_run(command: list[str], env: dict[str, str], folder: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of the command, started in `folder`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=folder, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_check(baseline: Path, runs: int) -> None:
    """A cold `screener check` and `import screener.cli` of this checkout and of the baseline, taking turns."""
    print(f"  cold `screener check '{COLD_NAME}' --country CN` and `import screener.cli`, {runs} runs each in turn:")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        trees = {"new": REPO, "base": baseline}
        envs = {side: fresh_python(root, work / "bytecode") for side, root in trees.items()}
        commands = {
            side: {
                "check": [sys.executable, "-m", "screener", "check", COLD_NAME, "--country", "CN",
                          "--db", str(work / side / "screener.duckdb")],
                "import": [sys.executable, "-c", "import screener.cli"],
            }
            for side in trees
        }
        for side in trees:  # loads the lists, caches the index and compiles the bytecode
            timed_run(commands[side]["check"], envs[side], work)
        for figure in ("check", "import"):
            times: dict[str, list[tuple[float, float]]] = {side: [] for side in trees}
            for _ in range(runs):
                for side in trees:
                    times[side].append(timed_run(commands[side][figure], envs[side], work))
            for index, unit in enumerate(("wall s", "cpu s")):
                new, base = ([run[index] for run in times[side]] for side in trees)
                ratio = statistics.median(n / b for n, b in zip(new, base, strict=True))
                print(f"  {figure:>17} {unit:>14}: {statistics.median(new):10,.3f}  baseline {statistics.median(base):10,.3f}"
                      f"  ratio {ratio:.2f} (pairwise median; new {min(new):.3f}-{max(new):.3f} s)", flush=True)


def compare(baseline: Path, rounds: int, figures: list[str], cold_runs: int) -> None:
    """Each figure of this checkout and of the baseline, in turn, `rounds` times; medians and their ratio."""
    print(f"this checkout ({REPO}) vs baseline ({baseline}), median of {rounds} rounds taken in turn:")
    rates = {}
    for figure in figures:
        if figure == "cold":
            cold_check(baseline, cold_runs)
            continue
        runs: dict[str, list[dict[str, float]]] = {"new": [], "base": []}
        for _ in range(rounds):
            runs["new"].append(measured(figure, REPO))
            runs["base"].append(measured(figure, baseline))
        for label in runs["new"][0]:
            new = statistics.median(run[label] for run in runs["new"])
            base = [run[label] for run in runs["base"] if label in run]
            old = statistics.median(base) if base else float("nan")
            print(f"  {figure:>17} {label:>14}: {new:10,.3f}  baseline {old:10,.3f}  ratio {new / old:.2f}", flush=True)
        rates[figure] = {
            side: statistics.median(run["rows/s"] for run in runs[side]) for side in runs if "rows/s" in runs[side][0]
        }
    for side in ("new", "base"):
        small, large = rates.get("watchlist-50000", {}).get(side), rates.get("watchlist-500000", {}).get(side)
        if small and large:
            print(f"  {side}: 10x watchlist (50k -> 500k names) costs {small / large:.2f}x in rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--baseline", type=Path, help="checkout of another version to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=15, help="with --baseline: runs of the cold check per tree")
    parser.add_argument("--figures", default=",".join(FIGURES), help=f"with --baseline: some of {', '.join(FIGURES)}")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.folder)))
        return
    if args.baseline:
        compare(args.baseline.resolve(), args.rounds, args.figures.split(","), args.cold_runs)
        return
    rng = np.random.default_rng(7)
    lists = read_embedded()
    embedded_entities = pl.concat([item.entities for item in lists], how="vertical_relaxed")
    embedded_names = pl.concat([item.names for item in lists], how="vertical_relaxed")
    embedded_names = embedded_names.with_columns(norm=normalize_series(embedded_names["name"], listed=True))
    listed = embedded_names.filter(pl.col("lang") == "en")["name"].to_list()
    queries = suppliers(rng, args.rows, listed)

    start = time.perf_counter()
    matcher, names = build(embedded_names, embedded_entities, 50_000, rng)
    print(f"index of {names.height:,} names built in {time.perf_counter() - start:.1f} s")
    rate, found = throughput(matcher, queries)
    print(f"{args.rows:,} supplier rows vs embedded + 50,000 names: {rate:,.0f} rows/s, {found:,} candidates")
    expected, lost = exhaustive_losses(matcher, queries.sample(args.sample, seed=1))
    print(
        f"exhaustive rapidfuzz scan of {args.sample:,} rows: {expected} candidates at or above review, {lost} lost by blocking"
    )
    distinct = queries["name"].unique(maintain_order=True).to_list()
    p50, p95 = check_latency(matcher, distinct)
    print(f"check() vs embedded + 50,000 names: p50 {p50:.1f} ms, p95 {p95:.1f} ms (warm)")
    p50, p95 = check_latency(Matcher(embedded_names, embedded_entities), distinct)
    print(f"check() vs embedded lists: p50 {p50:.1f} ms, p95 {p95:.1f} ms (warm)")
    p50, p95 = screener_check_latency(distinct)
    print(f"Screener.check (matching and rules) vs embedded lists: p50 {p50:.1f} ms, p95 {p95:.1f} ms (warm)")
    print(f"peak RSS so far: {peak_rss_mib():,.0f} MiB")

    sized = queries.head(20_000)
    for size in (5_000, 50_000, 500_000):
        matcher, names = build(embedded_names, embedded_entities, size, rng)
        rate, _ = throughput(matcher, sized)
        print(f"watchlist {names.height:>7,} names: {rate:,.0f} rows/s ({sized.height:,} rows)")
        del matcher, names
    print(f"peak RSS overall: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
