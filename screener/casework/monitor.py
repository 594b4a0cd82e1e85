"""Monitoring: re-screen every saved portfolio against the newest snapshots and report only what changed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import polars as pl

from screener.casework.portfolios import portfolio_names
from screener.casework.runs import CHANGE_LABELS, screen_portfolio
from screener.errors import ScreenerError
from screener.reports.tables import neutralise_formulas
from screener.store import Store

if TYPE_CHECKING:
    from screener.screening import Screener

DIGEST_FORMATS = ("json", "csv", "html")
DIGEST_TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Supplier screening digest {{ run_at }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.attention{background:#fff3cd}</style>
</head><body>
<h1>Supplier screening digest</h1>
<p>Run at {{ run_at }}. {{ attention }} change(s) need attention across {{ runs|length }} portfolio(s).</p>
<table><tr><th>portfolio</th><th>run</th><th>previous run</th><th>suppliers</th><th>critical/high</th><th>changes</th></tr>
{% for run in runs %}<tr><td>{{ run.portfolio }}</td><td>{{ run.run_id }}</td><td>{{ run.previous_run_id or "none" }}</td>
<td>{{ run.suppliers }}</td><td>{{ run.flagged }}</td><td>{{ run.changes }}</td></tr>{% endfor %}
</table>
{% if changes %}<table><tr><th>portfolio</th><th>supplier</th><th>change</th><th>listed entity</th><th>list</th>
<th>program</th><th>detail</th><th>cause</th></tr>
{% for c in changes %}<tr{% if c.attention %} class="attention"{% endif %}><td>{{ c.portfolio }}</td>
<td>{{ c.supplier_name or c.supplier_key }}</td><td>{{ labels[c.change] }}</td><td>{{ c.entity_name or "" }}</td>
<td>{{ c.list_name or "" }}</td><td>{{ c.program or "" }}</td><td>{{ c.detail or "" }}</td><td>{{ c.cause or "" }}</td></tr>
{% endfor %}</table>{% else %}<p>Nothing changed since the last run.</p>{% endif %}
</body></html>
"""
)


class MonitorError(ScreenerError):
    """Monitoring cannot run or write its digest as asked."""


@dataclass(frozen=True)
class MonitorReport:
    """The runs made by one monitoring pass and every change they found since each portfolio's previous run."""

    run_at: str
    runs: list[dict[str, object]]
    changes: pl.DataFrame

    @property
    def attention(self) -> int:
        """Changes someone should look at: everything except a supplier's tier going down."""
        return int(self.changes["attention"].sum()) if self.changes.height else 0


def run_monitor(db_path: Path, screener: Screener) -> MonitorReport:
    """Screen every saved portfolio now and collect what changed since each one's previous run."""
    run_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with Store(db_path) as store:
        names = portfolio_names(store)
    if not names:
        raise MonitorError("no portfolio is saved yet; add one with `screener portfolio add NAME FILE`")
    runs, changes = [], []
    for name in names:
        run = screen_portfolio(db_path, name, screener, trigger="monitor")
        flagged = run.result.rows.filter(pl.col("risk_tier").is_in(["critical", "high"])).height
        runs.append({"portfolio": name, "run_id": run.run_id, "previous_run_id": run.previous_run_id,
                     "suppliers": run.result.rows.height, "flagged": flagged, "changes": run.changes.height})
        changes.append(run.changes.with_columns(pl.lit(name).alias("portfolio")))
    frame = pl.concat(changes, how="vertical_relaxed").select("portfolio", pl.exclude("portfolio"))
    return MonitorReport(run_at=run_at, runs=runs, changes=frame)


def write_digest(report: MonitorReport, path: Path) -> Path:
    """Write the changes as JSON, CSV or an HTML digest, chosen by the file suffix."""
    path = Path(path).expanduser()
    kind = path.suffix.lower().lstrip(".")
    if kind not in DIGEST_FORMATS:
        raise MonitorError(f"cannot tell the digest format of '{path.name}': name it .json, .csv or .html")
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.part")
    try:
        if kind == "csv":
            neutralise_formulas(report.changes).write_csv(staged, include_bom=True)
        elif kind == "json":
            body = {"run_at": report.run_at, "attention": report.attention, "runs": report.runs,
                    "changes": report.changes.to_dicts()}
            staged.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        else:
            staged.write_text(
                DIGEST_TEMPLATE.render(run_at=report.run_at, runs=report.runs, changes=report.changes.to_dicts(),
                                       attention=report.attention, labels=CHANGE_LABELS),
                encoding="utf-8",
            )
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return path
