"""Streamlit front-end timings: first render, and upload → results for the example file and 5k/10k-row files.

Run: python benchmarks/ui.py [--rows 5000 10000] [--browser]
AppTest figures run the page script in-process (lists loading, screening, table building, serialising);
--browser also times a real headless Chromium from file upload to the results caption.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.streamlit_server import CHROMIUM, CHROMIUM_ARGS, served_app  # noqa: E402

EXAMPLE = REPO / "examples" / "suppliers.csv"
CITIES = [
    "Ningbo, Zhejiang",
    "Shenzhen, Guangdong",
    "Urumqi, Xinjiang",
    "Hanoi",
    "Dhaka",
    "Bursa",
    "Tiruppur",
    "Aksu, Xinjiang",
    "Qingdao, Shandong",
    "Monterrey",
    "Penang",
    "Wuxi, Jiangsu",
]
WORDS = ["Golden", "Bright", "Ocean", "Sun", "Harmony", "Eastern", "Pearl", "Jade", "Star", "Unity", "Silk", "Great"]
TRADES = ["Textile", "Garment", "Electronics", "Hardware", "Chemical", "Solar", "Plastics", "Trading", "Packaging"]
FORMS = ["Co., Ltd.", "Limited", "Industrial Co.", "Group", "JSC", "Pvt Ltd", "GmbH", "LLC"]


def synthetic_file(rows: int, folder: Path) -> Path:
    """A supplier file of `rows` rows: mostly invented companies, one in fifty a row of the example file."""
    rng = random.Random(rows)
    example = pl.read_csv(EXAMPLE, infer_schema=False)
    records = []
    for number in range(rows):
        if number % 50 == 0:
            records.append(example.row(rng.randrange(example.height), named=True) | {"supplier_id": f"B-{number}"})
            continue
        records.append(
            {
                "supplier_id": f"B-{number}",
                "supplier_name": " ".join(
                    (rng.choice(CITIES).split(",")[0], rng.choice(WORDS), rng.choice(TRADES), rng.choice(FORMS))
                ),
                "country": rng.choice(["CN", "CN", "CN", "VN", "BD", "TR", "IN", "MX", "MY", "DE"]),
                "address": f"No. {rng.randint(1, 999)} Industrial Road, {rng.choice(CITIES)}",
                "product": rng.choice(
                    ["cotton yarn", "LED drivers", "hand tools", "PVC resin", "knitted shirts", "wafers"]
                ),
                "hs_code": rng.choice(["5205.12", "8504.40", "8205.40", "3904.10", "6109.10", "3818.00"]),
                "annual_spend_usd": str(rng.randint(1_000, 2_000_000)),
            }
        )
    path = folder / f"suppliers_{rows}.csv"
    pl.DataFrame(records, schema=dict.fromkeys(example.columns, pl.String)).write_csv(path)
    return path


def apptest_screen(path: Path) -> tuple[float, float, int]:
    """Seconds from upload to the mapping form, and from pressing Screen to the rendered results."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600).run()
    started = time.perf_counter()
    at.file_uploader(key="supplier_file").upload(path.name, path.read_bytes(), "text/csv")
    at.run()
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    at.button(key="screen_button").click()
    at.run()
    screened = time.perf_counter() - started
    assert not at.exception, at.exception
    flagged = sum(int(metric.value.replace(",", "")) for metric in at.metric if metric.label in ("critical", "high"))
    return uploaded, screened, flagged


def browser_screen(path: Path, database: Path) -> tuple[float, float]:
    """A real Chromium: seconds to the first page, and from choosing the file to the results caption."""
    from playwright.sync_api import sync_playwright

    with served_app(database) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.set_default_timeout(120_000)
            started = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="Screen suppliers").wait_for()
            first_page = time.perf_counter() - started
            started = time.perf_counter()
            page.locator("input[type=file]").first.set_input_files(str(path))
            page.get_by_role("button", name="Screen suppliers").click()
            page.get_by_text("suppliers screened in").wait_for()
            page.get_by_text("Candidate listings").wait_for()
            to_results = time.perf_counter() - started
            browser.close()
        return first_page, to_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[5_000, 10_000])
    parser.add_argument("--browser", action="store_true", help="also time a real headless Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as folder:
        folder_path = Path(folder)
        database = folder_path / "lists.duckdb"
        os.environ["SCREENER_DB"] = str(database)
        started = time.perf_counter()
        AppTest.from_file(str(REPO / "app.py"), default_timeout=600).run()
        elapsed = time.perf_counter() - started
        print(f"first render (AppTest, fresh database, embedded lists not yet loaded): {elapsed:.2f} s")
        files = [EXAMPLE, *(synthetic_file(rows, folder_path) for rows in args.rows)]
        for index, path in enumerate(files):
            rows = pl.read_csv(path, infer_schema=False).height
            uploaded, screened, flagged = apptest_screen(path)
            note = " (includes loading the lists and building the matcher once)" if index == 0 else " (lists cached)"
            print(
                f"{rows:>6} rows (AppTest): upload→columns {uploaded:.2f} s, Screen→results {screened:.2f} s{note}; "
                f"{flagged} critical/high"
            )
        if args.browser:
            for path in files[1:]:
                copy = folder_path / f"browser_{path.stem}.duckdb"
                shutil.copyfile(database, copy)
                first_page, to_results = browser_screen(path, copy)
                rows = pl.read_csv(path, infer_schema=False).height
                print(
                    f"{rows:>6} rows (Chromium): first page {first_page:.2f} s, upload→results {to_results:.2f} s "
                    "(fresh server: includes loading the lists and building the matcher)"
                )


if __name__ == "__main__":
    main()
