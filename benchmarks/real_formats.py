"""Ingest the real copies of the source formats in ../shared/real_sources/ and print what came out.

Usage: python benchmarks/real_formats.py [--real-sources DIR]
For each copy: entities, names, entity types, countries, aliases and statuses as the ingestor read them, plus the
names that look wrong (a bare place, a whole list, a legal tail). For the CBP `Entity` cells OpenSanctions curated
(their yml), it counts how many cells split into the same entity names as OpenSanctions' curated split.
Nothing here is committed data: the copies stay in ../shared.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screener.ingest import ingest_source
from screener.store import Store
from sources import cbp_wro, csl, uflpa
from sources.base import Source
from sources.fetch_policy import make_client

COPIES: list[tuple[Source, str]] = [
    (csl.SOURCE, "csl/consolidated_v1_excerpt_2025-06.csv"),
    (csl.SOURCE, "csl/csl_api_trade_gov_2019_excerpt.csv"),
    (cbp_wro.SOURCE, "reconstructed/wro_reconstructed.csv"),
    (uflpa.SOURCE, "reconstructed/uflpa_evidence.html"),
]
SUSPECT = r"(?i)^(and |formerly known as |also known as )|; and |\bformerly known as\b|^[A-Z][a-z]+$"


def ingest_copy(source: Source, path: Path, folder: Path) -> None:
    """Ingest one saved copy into a fresh store and print a summary of the entities and names."""
    with Store(folder / f"{source.name}-{path.stem}.duckdb") as store, make_client() as client:
        try:
            result = ingest_source(store, source, client, url=str(path), force=True)
        except Exception as error:
            print(f"\n{path.name} ({source.name}): REFUSED — {error}")
            return
        lists = store.read_current()
    entities, names = lists.entities, lists.names
    print(f"\n{path.name} ({source.name}): {result.total} entities, {names.height} names")
    for column in ("entity_type", "status", "country"):
        print(f"  {column}: {dict(Counter(entities[column].fill_null('').to_list()).most_common(8))}")
    print(f"  name kinds: {dict(Counter(names['kind'].to_list()))}")
    suspect = names.filter(pl.col("name").str.contains(SUSPECT))["name"].to_list()
    print(f"  names that look wrong ({len(suspect)}): {suspect[:10]}")


def _scalar(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('\\"', '"') if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text


def curated_splits(yml: str) -> list[tuple[str, list[str]]]:
    """(cell, entity names) of each one-line `match:` option of the yml's name lookups (no YAML library needed)."""
    options: list[tuple[str, list[str]]] = []
    for line in yml.split("  names:", 1)[-1].splitlines():
        match = re.match(r"^\s+- match:\s*(\S.*)$", line)
        name = re.match(r"^\s+- name:\s*(\S.*)$", line)
        if match:
            options.append((_scalar(match[1]), []))
        elif name and options:
            options[-1][1].append(_scalar(name[1]))
    return [(cell, names) for cell, names in options if names]


def cbp_cells_against_opensanctions(yml: Path) -> None:
    """Split every verbatim CBP `Entity` cell and compare the entity names with OpenSanctions' curated split."""
    agree, differ = 0, []
    for cell, expected in curated_splits(yml.read_text(encoding="utf-8")):
        got = sorted(entity["name"] for entity in cbp_wro.split_entity_cell(cell))
        if got == sorted(expected):
            agree += 1
        else:
            differ.append((cell, got, sorted(expected)))
    print(f"\nCBP Entity cells vs OpenSanctions' curated split: {agree} agree, {len(differ)} differ")
    for cell, got, expected in differ:
        print(f"  {cell[:90]!r}\n    ours: {got}\n    theirs: {expected}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-sources", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "real_sources")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        for source, relative in COPIES:
            path = args.real_sources / relative
            if path.is_file():
                ingest_copy(source, path, Path(folder))
            else:
                print(f"\n{relative}: not found under {args.real_sources}")
    yml = args.real_sources / "opensanctions" / "us_cbp_forced_labor.yml"
    if yml.is_file():
        cbp_cells_against_opensanctions(yml)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
