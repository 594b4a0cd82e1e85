"""Peak memory and time of reading every file of the hostile corpus (tests/bad_inputs.py), each in its own process.

Each file is written to a temporary folder and read by `read_supplier_table` in a child process, whose peak
resident memory and exit are recorded: a refusal is an outcome, a crash (signal, non-zero exit) is a failure.
Readable files are checked for rows lost against the names the corpus expects. A large ordinary CSV (default
200,000 rows) and the largest whitespace-padded workbook the size check accepts are read too.

    python benchmarks/hostile.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from screener.workbook_limits import MAX_INFLATED_BYTES  # noqa: E402
from tests.bad_inputs import CORPUS, HEADER, SUPPLIERS_SHEET, delimited, hand_made_workbook, sheet_rows  # noqa: E402

CHILD = """
import json, resource, sys, time
from screener.columns import detect_columns
from screener.supplier_io import InputFileError, read_supplier_table
start = time.perf_counter()
try:
    table = read_supplier_table(sys.argv[1])
    names = table.frame[detect_columns(table.frame).name].to_list()
    outcome = {"read": len(names), "names": names, "repairs": len(table.repairs)}
except (InputFileError, ValueError) as error:
    outcome = {"refused": str(error)}
outcome["seconds"] = time.perf_counter() - start
outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(outcome))
"""


def measure(path: Path) -> dict:
    """Read one file in a child process; its outcome, or how it died."""
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=600)
    if child.returncode != 0:
        return {"crashed": child.returncode, "stderr": child.stderr.strip().splitlines()[-1:]}
    return json.loads(child.stdout)


def lost_rows(expected: list[str | None], names: list[str | None]) -> int:
    clean = [(name or "").strip() or None for name in names]
    wanted = [(name or "").strip() or None for name in expected]
    return sum(1 for name in wanted if name not in clean) + max(0, len(wanted) - len(clean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    crashes = lost = 0
    worst = ("", 0.0)
    with tempfile.TemporaryDirectory() as folder:
        large = Path(folder) / f"ordinary_{args.rows}.csv"
        large.write_bytes(delimited([[f"Supplier {n} Co., Ltd.", "CN", f"Road {n}"] for n in range(args.rows)]))
        items = [(item.filename, item.make, item.names) for item in CORPUS]
        items.append((large.name, large.read_bytes, None))
        just_accepted = MAX_INFLATED_BYTES - 6 * 2**20  # the largest whitespace bomb the workbook check lets through
        items.append(("whitespace_just_under_the_cap.xlsx",
                      lambda: hand_made_workbook(sheet_rows(SUPPLIERS_SHEET), padding=just_accepted), None))
        print(f"{'file':40} {'outcome':>10} {'peak MB':>8} {'seconds':>8}")
        for filename, make, expected in items:
            path = Path(folder) / filename
            path.write_bytes(make())
            outcome = measure(path)
            kind = "crash" if "crashed" in outcome else "refused" if "refused" in outcome else "read"
            crashes += kind == "crash"
            if expected is not None and kind == "read":
                lost += lost_rows(expected, outcome["names"])
            peak = outcome.get("peak_mb", 0.0)
            worst = max(worst, (filename, peak), key=lambda pair: pair[1])
            print(f"{filename:40} {kind:>10} {peak:8.0f} {outcome.get('seconds', 0):8.2f}")
    print(f"\n{len(items)} files, crashes {crashes}, rows lost {lost}, worst peak {worst[1]:.0f} MB ({worst[0]})")
    if args.rows:
        print(f"(the ordinary file has {args.rows:,} rows and the columns {', '.join(HEADER)})")


if __name__ == "__main__":
    main()
