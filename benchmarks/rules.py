"""Rules evaluation speed and memory on generated supplier rows (addresses, products, HS codes, USCCs, candidates).

Prints rows/s of `evaluate` (XUAR gazetteer, USCC check, sectors, list rules) and the peak resident memory,
and checks the labelled rule cases in ../shared/eval/dev_rules.csv (benchmarks may read ../shared).

    python benchmarks/rules.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

from screener.rules import evaluate, load_rules
from screener.uscc import check_character

ADDRESSES = [
    "No. 8 Renmin Road, Urumqi, Xinjiang",
    "Karamay Road, Putuo District, Shanghai",
    "新疆喀什地区疏附县",
    "Yili Industrial Park, Hohhot, Inner Mongolia",
    "Haizhu District, Guangzhou, Guangdong",
    "Aksu, Pavlodar Region",
    "青岛市新疆路12号",
    "Hetian City, Hotan Prefecture",
    "Gazipur, Dhaka Division",
    "Yiwu, Zhejiang",
    None,
]
PRODUCTS = [
    "cotton T-shirts",
    "hand tools",
    "番茄酱",
    "polysilicon",
    "LED drivers",
    "frozen shrimp",
    "steel coils",
    "office chairs",
    None,
]
HS_CODES = ["6109.10", "8205.40", "2002.90", "2804.61", "8504.40", "0306.17", "7208.51", None]
COUNTRIES = ["CN", "CN", "CN", "VN", "BD", "KZ", "DE", None]
DEV_RULES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_rules.csv"


def generated(rows: int, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Supplier rows and a candidates frame (one review-band candidate on every 20th row)."""

    def pick(options: list[str | None]) -> list[str | None]:
        return [options[index] for index in rng.integers(0, len(options), rows)]

    codes = [
        f"91{division}MA{index:07d}" for index, division in enumerate(pick(["650100", "330100", "440300", "653100"]))
    ]
    uscc = [
        code[:17] + check_character(code[:17]) if index % 3 else code[:17] + "0" for index, code in enumerate(codes)
    ]
    suppliers = pl.DataFrame(
        {
            "row": range(rows),
            "name": [f"Supplier {i}" for i in range(rows)],
            "country": pick(COUNTRIES),
            "address": pick(ADDRESSES),
            "product": pick(PRODUCTS),
            "hs_code": pick(HS_CODES),
            "uscc": uscc,
        },
        schema_overrides={"row": pl.UInt32},
    )
    flagged = list(range(0, rows, 20))
    candidates = pl.DataFrame(
        {
            "row": flagged,
            "entity_id": "uflpa:x",
            "matched_name": "Xinjiang Example Co.",
            "name_kind": "primary",
            "name_lang": "en",
            "score": 84.0,
            "band": "review",
            "explanation": "generated",
            "source": "uflpa",
            "list_name": "UFLPA Entity List",
            "list_kind": "legal",
            "program": "UFLPA 2(d)(2)(B)(v)",
            "status": "active",
            "source_url": "https://www.dhs.gov/uflpa-entity-list",
            "includes_affiliates": True,
        },
        schema_overrides={"row": pl.UInt32},
    )
    return suppliers, candidates


def dev_cases() -> str:
    if not DEV_RULES.exists():
        return "dev_rules.csv not found"
    with DEV_RULES.open(encoding="utf-8") as handle:
        cases = list(csv.DictReader(handle))
    frame = pl.DataFrame(
        {
            "row": range(len(cases)),
            "name": [c["supplier_name"] for c in cases],
            **{
                column: [c[column] or None for c in cases]
                for column in ("country", "address", "product", "hs_code", "uscc")
            },
        },
        schema_overrides={"row": pl.UInt32},
    )
    tiers = evaluate(frame, pl.DataFrame(schema={"row": pl.UInt32}), load_rules()).get_column("risk_tier").to_list()
    passed = sum(tier in case["expected"].split("|") for tier, case in zip(tiers, cases, strict=True))
    return f"{passed}/{len(cases)} labelled rule cases pass"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    arguments = parser.parse_args()
    ruleset = load_rules()
    suppliers, candidates = generated(arguments.rows, np.random.default_rng(7))
    evaluate(suppliers.head(100), candidates.head(5), ruleset)
    start = time.perf_counter()
    verdicts = evaluate(suppliers, candidates, ruleset)
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rules version {ruleset.version}: {len(ruleset.rules)} rules, {len(ruleset.sectors)} sectors")
    print(f"evaluate: {arguments.rows:,} rows in {elapsed:.2f} s ({arguments.rows / elapsed:,.0f} rows/s)")
    print(f"peak resident memory: {peak_mib:,.0f} MiB")
    print("tiers:", dict(verdicts.group_by("risk_tier").len().sort("risk_tier").iter_rows()))
    print(dev_cases())


if __name__ == "__main__":
    main()
