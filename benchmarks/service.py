"""Speed of the screening service on loopback, paired in one run with the library call it wraps, with a baseline
version's server and, where nomenklatura can be run, with yente's scorer on the same queries.

For each worker count (`--workers 1,2`) starts `screener serve` of this checkout and, with `--baseline DIR`, of
another checkout (each over its own copy of the embedded lists), and measures on the same query names:
- per name in turn, warm: `Screener.check` in this process (the library path every endpoint wraps), the /match
  answer built in this process, and single-name `POST /match/default` over HTTP to each server from one client:
  p50/p95 of each, and of the per-name service overhead (/match minus check);
- requests/s of single-name /match with 4 concurrent clients (bounded count and time), `--rounds` runs of each
  server taken in turn, after 4 clients' warm-up requests have reached every worker: each round on names that server
  has not been sent before (as a screening service mostly meets them; a worker keeps the normalised form and word
  roles of the last 1,024 names it read, screener.recent), then one run on the names timed one by one, which it has
  seen;
- a 100-query batch `POST /match/default`: seconds per request;
- `POST /screen` jobs (this checkout, one worker) of one batch (100,000 rows) and of `--job-rows` rows (default
  400,000, four batches) of repeated listed and unlisted names: seconds, the progress steps `GET /jobs/{id}` showed,
  and the server's resident memory at rest and at its peak after each job;
- yente's scorer (nomenklatura's `logic-v2`, yente's default, and `name-based`) scoring each query against
  the 50 candidates yente would ask its index for (limit 5 × 10), in a separate Python that has nomenklatura
  (`--nomenklatura-python`; skipped with the reason when it is missing). That is the scoring alone: yente's
  Elasticsearch query and HTTP come on top of it.

This process (the in-process check) runs on the last core, as `screener check` runs on one; the servers it starts and
its 4 clients' threads may run on every core (started from the pinned process, a server would inherit its one core,
and `--workers 2` would put both workers on it).

    git worktree add --detach /tmp/base COMMIT
    python benchmarks/service.py [--queries 200] [--requests 400] [--rounds 2] [--workers 1,2] [--baseline /tmp/base]
                                 [--job-rows 400000] [--nomenklatura-python /path/to/python]

Queries (`--names`): `labelled` (the default), the names of ../shared/eval/dev_queries.csv when present (listed names
in supplier spellings and look-alikes: nearly every one is scored against candidates), else listed names of the
embedded lists; `supplier-file`, distinct names of `benchmarks/speed.py`'s supplier-file generator (mostly unlisted
Chinese and foreign firms, 2 % spellings of listed names), the mix a procurement system sends as it onboards
suppliers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from screener.api_keys import add_key
from screener.cpu import pin_to_one_core, usable_cores
from screener.embedded import ensure_embedded
from screener.recent import forget_all
from screener.screening import Screener
from screener.service.catalog import Catalog
from screener.service.matching import Coalescer, match_response
from screener.store import Store
from screener.supplier_io import BATCH_ROWS
from tests.service_server import served_process

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import suppliers

REPO = Path(__file__).resolve().parent.parent
EVAL_QUERIES = REPO.parent / "shared" / "eval" / "dev_queries.csv"
MORE_QUERIES = REPO.parent / "shared" / "eval" / "dev_customs_queries.csv"
WARM_UP_REQUESTS = 40
CLIENTS = 4
BATCH = 100
YENTE_CANDIDATES = 50
CONCURRENT_LIMIT_S = 60
YENTE_SCORER = r'''
import json, sys, time
from followthemoney import model
from nomenklatura.matching import get_algorithm
from nomenklatura.matching.types import ScoringConfig
data = json.load(sys.stdin)
entities = {}
for item in data["entities"]:
    proxy = model.make_entity(item["schema"])
    proxy.id = item["id"]
    proxy.add("name", item["names"])
    if item["country"]:
        proxy.add("country", item["country"])
    entities[item["id"]] = proxy
out = {}
for name in data["algorithms"]:
    algorithm = get_algorithm(name)
    config = ScoringConfig.defaults()
    timings = []
    for query in data["queries"]:
        example = model.make_entity("Company")
        example.id = "query"
        example.add("name", query["name"])
        started = time.perf_counter()
        for candidate_id in query["candidates"]:
            algorithm.compare(example, entities[candidate_id], config)
        timings.append(time.perf_counter() - started)
    out[name] = timings
json.dump(out, sys.stdout)
'''


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms (n={len(ms)})"


def supplier_file_names(lists_names: pl.DataFrame, count: int) -> list[str]:
    """`count` distinct names of the supplier-file generator, in its random order."""
    listed = lists_names.filter(pl.col("lang") == "en")["name"].to_list()
    generated = suppliers(np.random.default_rng(5), count * 2, listed)["name"].unique(maintain_order=True)
    return generated.head(count).to_list()


def query_names(lists_names: pl.DataFrame, count: int) -> list[str]:
    if EVAL_QUERIES.exists():
        names = pl.read_csv(EVAL_QUERIES, infer_schema=False)["query_name"].drop_nulls()
    else:
        names = lists_names["name"]
    return names.sample(min(count, names.len()), seed=7, shuffle=True).to_list()


def fresh_names(lists_names: pl.DataFrame, timed: list[str]) -> list[str]:
    """Other query names than the timed ones, each once, in a fixed random order: the labelled queries of
    ../shared/eval when present, else the lists' names."""
    sources = [pl.read_csv(path, infer_schema=False)["query_name"] for path in (EVAL_QUERIES, MORE_QUERIES) if path.exists()]
    distinct = (pl.concat(sources) if sources else lists_names["name"]).drop_nulls().unique(maintain_order=True)
    return distinct.filter(~distinct.is_in(timed)).sample(fraction=1.0, seed=11, shuffle=True).to_list()


def round_names(fresh: list[str], round_: int, requests: int) -> list[str]:
    """The names of one 4-client round: the next `requests` fresh names (wrapping round when there are too few)."""
    return [fresh[(round_ * requests + n) % len(fresh)] for n in range(requests)]


def match_body(names: list[str]) -> dict:
    return {"queries": {f"q{n}": {"schema": "Company", "properties": {"name": [name]}} for n, name in enumerate(names)}}


IN_PROCESS = ("check", "match_response")


def time_paired(urls: dict[str, str], screener: Screener, names: list[str]) -> dict[str, list[float]]:
    """Per name, one after the other (so each sees the same load): `Screener.check` in this process, the answer of
    /match built in this process (`match_response`: check plus yente's shapes), and `POST /match` over HTTP to each
    server (this checkout's, and the baseline's when there is one). Every one reads the name for the first time: the
    readings kept in this process (screener.recent) are dropped before each in-process step."""
    catalog, coalescer = Catalog(screener.lists), Coalescer()
    clients = {label: httpx.Client(base_url=url, timeout=60) for label, url in urls.items()}
    steps = {
        "check": lambda name: screener.check(name),
        "match_response": lambda name: match_response(screener, catalog, coalescer, {"q": ("Company", {"name": [name]})},
                                                      dataset="default", limit=5, threshold=None),
        **{label: (lambda name, client=client: client.post("/match/default", json=match_body([name])).raise_for_status())
           for label, client in clients.items()},
    }
    timings: dict[str, list[float]] = {label: [] for label in steps}
    for step in steps.values():
        step(names[0])
    for name in names:
        for label, step in steps.items():
            if label in IN_PROCESS:
                forget_all()  # each in-process reading of the name is its first, as the server's is
            started = time.perf_counter()
            step(name)
            timings[label].append(time.perf_counter() - started)
    for client in clients.values():
        client.close()
    return timings


def differences(later: list[float], earlier: list[float]) -> list[float]:
    return [after - before for after, before in zip(later, earlier, strict=True)]


def concurrent_rate(url: str, names: list[str], total: int, cores: set[int]) -> tuple[float, int, list[float]]:
    """Requests/s of `CLIENTS` clients sending single-name requests, `total` in all (or until the time bound); their
    threads run on any of `cores` (pinned to this process's core they would be starved by the worker pinned there,
    which clients on other machines never are)."""
    counter = iter(range(total))
    lock = threading.Lock()
    timings: list[float] = []
    deadline = time.monotonic() + CONCURRENT_LIMIT_S

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                started = time.perf_counter()
                client.post("/match/default", json=match_body([names[index % len(names)]])).raise_for_status()
                with lock:
                    timings.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    started = time.perf_counter()
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # for the threads started now: they take this thread's cores
    try:
        for thread in threads:
            thread.start()
    finally:
        os.sched_setaffinity(0, pinned)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return len(timings) / elapsed, len(timings), timings


def time_batches(url: str, names: list[str], repeats: int = 5) -> list[float]:
    timings = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for repeat in range(repeats):
            batch = [names[(repeat * BATCH + n) % len(names)] for n in range(BATCH)]
            started = time.perf_counter()
            answer = client.post("/match/default", json=match_body(batch))
            answer.raise_for_status()
            timings.append(time.perf_counter() - started)
            assert len(answer.json()["responses"]) == BATCH
    return timings


def memory_kib(pid: int) -> dict[str, int]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def time_job(url: str, token: str, names: list[str], rows: int, folder: Path) -> tuple[float, list[int]]:
    """Seconds for a job of `rows` supplier rows (the names repeated), and the rows done each poll showed."""
    path = folder / f"suppliers-{rows}.csv"
    pl.DataFrame({"Supplier Name": pl.Series(names).sample(rows, with_replacement=True, seed=rows),
                  "Country": ["CN"] * rows}).write_csv(path)
    started = time.perf_counter()
    job_id = httpx.post(f"{url}/screen", files={"file": (path.name, path.read_bytes())}, headers={"X-API-Key": token},
                        timeout=300).raise_for_status().json()["job_id"]
    steps: list[int] = []
    while (job := httpx.get(f"{url}/jobs/{job_id}", timeout=60).json())["status"] not in ("done", "failed"):
        steps.append(job["rows_done"])
        time.sleep(0.5)
    if job["status"] != "done":
        raise SystemExit(f"the {rows:,}-row job failed: {job['error']}")
    return time.perf_counter() - started, sorted(set(steps))


def yente_scoring(python: str, screener: Screener, names: list[str]) -> dict[str, list[float]] | str:
    """Per-query seconds of nomenklatura's scorers over YENTE_CANDIDATES candidates, or why it could not run."""
    if not Path(python).exists():
        return f"no Python with nomenklatura at {python} (pip install nomenklatura in a separate venv)"
    entities = screener.lists.entities.select("entity_id", "entity_type", "country")
    grouped = screener.lists.names.group_by("entity_id").agg(pl.col("name").unique())
    table = entities.join(grouped, on="entity_id")
    schema = {"organization": "Organization", "person": "Person", "vessel": "Vessel"}
    records = [{"id": row["entity_id"], "schema": schema.get(row["entity_type"], "LegalEntity"),
                "names": row["name"], "country": (row["country"] or "").lower()} for row in table.iter_rows(named=True)]
    choices = {record["id"]: " ".join(record["names"]) for record in records}
    queries = [{"name": name, "candidates": [key for _, _, key in process.extract(
        name, choices, scorer=fuzz.token_set_ratio, limit=YENTE_CANDIDATES)]} for name in names]
    payload = json.dumps({"entities": records, "queries": queries, "algorithms": ["logic-v2", "name-based"]})
    done = subprocess.run([python, "-c", YENTE_SCORER], input=payload, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return f"nomenklatura failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    return json.loads(done.stdout)


@contextmanager
def servers(db_path: Path, workers: int, baseline: Path | None, folder: Path, cores: set[int]) -> Iterator[dict[str, str]]:
    """This checkout's server and the baseline's (each over its own copy of the database), by label, on `cores`."""
    checkouts = {"this": REPO, **({"baseline": baseline} if baseline else {})}
    with ExitStack() as stack:
        urls = {}
        for label, checkout in checkouts.items():
            copy = folder / f"{label}-{workers}.duckdb"
            shutil.copyfile(db_path, copy)
            urls[label], _ = stack.enter_context(
                served_process(copy, "--workers", str(workers), checkout=checkout, cores=cores))
        yield urls


def measure_match(
    db_path: Path, screener: Screener, names: list[str], fresh: list[str], args: argparse.Namespace, folder: Path,
    cores: set[int],
) -> None:
    """Single names in turn, 4 concurrent clients (on names each server meets for the first time, then on names it
    has seen) and 100-query batches, for each worker count, this checkout and the baseline taken in turn."""
    for workers in args.workers:
        with servers(db_path, workers, args.baseline, folder, cores) as urls:
            print(f"screener serve --workers {workers}; single names, one client, each name timed in turn:")
            paired = time_paired(urls, screener, names)
            print(f"  Screener.check in process (the library call):  {percentiles(paired['check'])}")
            print(f"  match_response in process (check + shapes):    {percentiles(paired['match_response'])}")
            for label in urls:
                print(f"  POST /match over HTTP, {label:>8}:               {percentiles(paired[label])}")
                print(f"    service overhead (/match - check, per name):  {percentiles(differences(paired[label], paired['check']))}")
            for url in urls.values():
                concurrent_rate(url, names, WARM_UP_REQUESTS, cores)  # every worker has served requests before it is timed
            for round_ in range(args.rounds):
                for label, url in urls.items():
                    rate, count, timings = concurrent_rate(
                        url, round_names(fresh, round_, args.requests), args.requests, cores)
                    print(f"  round {round_ + 1}, {label:>8}: {CLIENTS} clients {rate:.0f} requests/s ({count} requests, "
                          f"names new to the server), latency {percentiles(timings)}")
            for label, url in urls.items():
                rate, count, timings = concurrent_rate(url, names, args.requests, cores)
                print(f"  seen before, {label:>8}: {CLIENTS} clients {rate:.0f} requests/s ({count} requests, the timed "
                      f"names again), latency {percentiles(timings)}")
            for label, url in urls.items():
                batches = time_batches(url, names)
                print(f"  {label:>8}: {BATCH}-query batch median {np.median(batches):.2f} s, max {max(batches):.2f} s (n={len(batches)})")


def measure_jobs(db_path: Path, names: list[str], args: argparse.Namespace, folder: Path, cores: set[int]) -> None:
    _, token = add_key(db_path, "benchmark", rate_per_minute=10_000)
    with served_process(db_path, cores=cores) as (url, process):
        at_rest = memory_kib(process.pid)["VmRSS"]
        print(f"POST /screen jobs (one worker; server at rest {at_rest / 1024:,.0f} MiB resident):")
        for rows in (BATCH_ROWS, args.job_rows):
            seconds, steps = time_job(url, token, names, rows, folder)
            peak = memory_kib(process.pid)["VmHWM"]
            print(f"  {rows:>9,} rows: {seconds:.1f} s ({rows / seconds:,.0f} rows/s), rows done seen {steps}, "
                  f"server peak so far {peak / 1024:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400, help="requests in each 4-client run")
    parser.add_argument("--rounds", type=int, default=2, help="4-client runs of each server, taken in turn")
    parser.add_argument("--workers", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2],
                        help="worker counts of screener serve, comma-separated")
    parser.add_argument("--baseline", type=Path, help="checkout of another version (git worktree add DIR COMMIT) "
                        "whose server is timed in turn with this one's")
    parser.add_argument("--names", choices=("labelled", "supplier-file"), default="labelled",
                        help="query names: labelled listed names and look-alikes, or a generated supplier file's")
    parser.add_argument("--job-rows", type=int, default=4 * BATCH_ROWS, help="rows of the larger screening job (0: no jobs)")
    parser.add_argument("--nomenklatura-python", default=os.environ.get("NOMENKLATURA_PYTHON", "/work/venv-service-bench/bin/python"))
    args = parser.parse_args()
    cores = usable_cores()
    pinned = pin_to_one_core(len(cores) - 1) if cores else None  # the clients and the in-process check on one core
    print(f"load average before: {' '.join(f'{value:.1f}' for value in os.getloadavg())} on {os.cpu_count()} cores; "
          f"this process on core {pinned}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        db_path = folder / "lists.duckdb"
        with Store(db_path) as store:
            ensure_embedded(store)
        screener = Screener.from_db(db_path)
        if args.names == "supplier-file":
            generated = supplier_file_names(screener.lists.names, args.queries + args.requests * (args.rounds + 1))
            names, fresh, origin = generated[: args.queries], generated[args.queries :], "the supplier-file generator"
        else:
            names = query_names(screener.lists.names, args.queries)
            fresh = fresh_names(screener.lists.names, names)
            origin = "dev_queries.csv" if EVAL_QUERIES.exists() else "the embedded lists"
        print(f"{len(names)} query names from {origin} and {len(fresh)} others for the 4-client rounds; "
              f"{screener.lists.entities.height} listed entities")
        measure_match(db_path, screener, names, fresh, args, folder, set(cores))
        if args.job_rows:
            measure_jobs(db_path, names, args, folder, set(cores))
        yente = yente_scoring(args.nomenklatura_python, screener, names)
        if isinstance(yente, str):
            print(f"yente's scorer: not measured: {yente}")
        else:
            for algorithm, timings in yente.items():
                print(f"yente scorer {algorithm} on {YENTE_CANDIDATES} candidates per query (scoring only): "
                      f"{percentiles(timings)}, at most {1 / np.median(timings):.0f} queries/s on one core")
    print(f"load average after: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
