"""Ingest throughput: parse + store a synthetic Consolidated Screening List CSV.

Usage: python benchmarks/ingest.py [--rows 30000] [--format csl|ftm]
Prints generation size, parse time, full ingest time, rows/s and peak RSS. `--format ftm` generates
OpenSanctions FollowTheMoney JSON lines instead (companies with Chinese names, addresses, ownership).
Target (issue 3): 30,000 rows in under 10 s and under 1 GiB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screener.ingest import ingest_source
from screener.store import Store
from sources import csl, opensanctions
from sources.base import Download, Source
from sources.fetch_policy import Fetched

HEADER = ("_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,"
          "standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,"
          "gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,"
          "dates_of_birth,nationalities,places_of_birth,source_information_url,ids").split(",")
LISTS = [
    ("Entity List (EL) - Bureau of Industry and Security", "", ""),
    ("Specially Designated Nationals (SDN) - Treasury Department", "Entity", "GLOMAG"),
    ("Specially Designated Nationals (SDN) - Treasury Department", "Individual", "SDGT; IRAN-EO13846"),
    ("Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department", "Entity", "CMIC-EO13959"),
    ("Military End User (MEU) List - Bureau of Industry and Security", "", ""),
    ("Denied Persons List (DPL) - Bureau of Industry and Security", "", ""),
]
PLACES = ["Urumqi", "Kashgar", "Hotan", "Aksu", "Korla", "Shihezi", "Shenzhen", "Hangzhou", "Beijing", "Shanghai",
          "Moscow", "Tehran", "Dubai", "Minsk", "Hong Kong"]
COUNTRIES = {"Moscow": "RU", "Tehran": "IR", "Dubai": "AE", "Minsk": "BY", "Hong Kong": "HK"}
WORDS = ["Tianshan", "Huafu", "Zhongtai", "Golden", "Silk Road", "Jinhui", "Xinyuan", "Dragon", "Pacific", "Sino",
         "Northern", "Hengtong", "Lihua", "Baotou", "Kunlun", "Orient", "Star", "Union", "Everbright", "Phoenix"]
TRADES = ["Cotton", "Textile", "Polysilicon", "Aluminum", "Electronics", "Chemical", "Logistics", "Trading",
          "Machinery", "Solar", "Garment", "Tomato Products", "Shipping", "Aviation", "Technology"]
FORMS = ["Co., Ltd.", "Group Co., Ltd.", "Limited", "Corporation", "LLC", "JSC", "Industrial Co., Ltd."]
SURNAMES = ["CHEN", "WANG", "LI", "ZHANG", "LIU", "IVANOV", "PETROV", "HOSSEINI", "RAHIMI", "SMIRNOV"]
GIVEN = ["Quanguo", "Mingyu", "Wei", "Jun", "Sergei", "Alexei", "Reza", "Ali", "Hui", "Xiaoming"]


def synthetic_csl(rows: int, seed: int = 7) -> bytes:
    """A CSL-format CSV with realistic organisation and person names, aliases and addresses."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for number in range(rows):
        source, kind, programs = rng.choice(LISTS)
        place = rng.choice(PLACES)
        country = COUNTRIES.get(place, "CN")
        if kind == "Individual":
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            name = f"{surname}, {given} ({number})"
            aliases = [f"{given} {surname} ({number})"]
        else:
            stem = f"{place} {rng.choice(WORDS)} {rng.choice(TRADES)}"
            name = f"{stem} {rng.choice(FORMS)} {number}"
            aliases = [f"{rng.choice(WORDS)} {rng.choice(TRADES)} {number}", f"{stem} {number}"][: rng.randint(0, 2)]
        address = f"No. {rng.randint(1, 999)} {rng.choice(WORDS)} Road, {place}, {country}"
        row = dict.fromkeys(HEADER, "")
        row.update({
            "_id": f"{number:040x}", "source": source, "entity_number": str(10000 + number), "type": kind,
            "programs": programs, "name": name, "addresses": address,
            "federal_register_notice": f"{rng.randint(80, 90)} FR {rng.randint(1000, 99999)}",
            "start_date": f"{rng.randint(2010, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "remarks": "Listed for involvement in the XUAR." if country == "CN" and rng.random() < 0.3 else "",
            "source_list_url": "https://www.bis.doc.gov/", "alt_names": "; ".join(aliases),
            "source_information_url": "https://www.trade.gov/consolidated-screening-list",
        })
        writer.writerow(row.values())
    return buffer.getvalue().encode()


def synthetic_ftm(rows: int, seed: int = 7) -> bytes:
    """FtM JSON lines like shu_uyghur_companies: companies, linked addresses, and an ownership per tenth company."""
    rng = random.Random(seed)
    lines = []
    for number in range(rows):
        place = rng.choice(PLACES[:6])
        company = f"company-{number}"
        properties = {
            "name": [f"Xinjiang {place} {rng.choice(WORDS)} {rng.choice(TRADES)} {rng.choice(FORMS)} {number}",
                     f"新疆{rng.choice(['天山', '华孚', '中泰', '利华', '昆仑'])}{rng.choice(['棉业', '纺织', '化工'])}有限公司{number}"],
            "country": ["cn"], "addressEntity": [f"address-{number}"], "sector": [rng.choice(TRADES)],
            "notes": ["Named in reports as engaging in labour transfers"] if rng.random() < 0.2 else [],
        }
        lines.append({"id": company, "schema": "Company", "properties": properties, "datasets": ["shu_uyghur_companies"]})
        lines.append({"id": f"address-{number}", "schema": "Address", "datasets": ["shu_uyghur_companies"],
                      "properties": {"full": [f"No. {rng.randint(1, 999)} {rng.choice(WORDS)} Road, {place}, Xinjiang"]}})
        if number % 10 == 1:
            lines.append({"id": f"own-{number}", "schema": "Ownership", "datasets": ["shu_uyghur_companies"],
                          "properties": {"owner": [f"company-{number - 1}"], "asset": [company]}})
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode() + b"\n"


class FileOnlyClient:
    """Stands in for httpx.Client: the benchmark never touches the network (a local path is read)."""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--format", choices=("csl", "ftm"), default="csl")
    arguments = parser.parse_args()
    rows = arguments.rows
    source: Source = csl.SOURCE if arguments.format == "csl" else opensanctions.make_source(("shu_uyghur_companies",))
    started = time.perf_counter()
    content = synthetic_csl(rows) if arguments.format == "csl" else synthetic_ftm(rows)
    generated = time.perf_counter() - started
    baseline = peak_rss_mib()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "download"
        path.write_bytes(content)
        started = time.perf_counter()
        parsed = source.parse(Download(url=source.url, files={"data": Fetched(url=source.url, content=content)}))
        parse_seconds = time.perf_counter() - started
        with Store(Path(folder) / "bench.duckdb") as store:
            started = time.perf_counter()
            result = ingest_source(store, source, FileOnlyClient(), url=str(path))
            total_seconds = time.perf_counter() - started
    print(f"{arguments.format}: {rows:,} rows ({len(content) / 2**20:.1f} MiB, generated in {generated:.1f} s)")
    print(f"parsed: {parsed.entities.height:,} entities, {parsed.names.height:,} names in {parse_seconds:.2f} s "
          f"({rows / parse_seconds:,.0f} rows/s)")
    print(f"full ingest (read file, parse, validate, diff, store in one transaction): {total_seconds:.2f} s "
          f"({rows / total_seconds:,.0f} rows/s), snapshot {result.snapshot_id}, {result.total:,} entities")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB (after generation: {baseline:,.0f} MiB)")


if __name__ == "__main__":
    main()
