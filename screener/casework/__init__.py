"""Casework: saved portfolios, their screening runs, analysts' decisions and monitoring.

This package owns the portfolio, run and decision tables (their DDL is in the store's migrations) and every
query on them; the CLI, the web app and the service call only the names below.

- `portfolios`: saving and loading supplier portfolios, a stable key per supplier.
- `decisions`: the append-only decision log, the state a decision gives a match, the audit export.
- `runs`: screening a portfolio with the decisions in force (dismissed matches never reach the rules),
  recording the run and what changed since the one before; reading runs, their matches and changes.
- `review`: recording decisions on a run's matches, one at a time or from a reviewed report.
- `monitor`: re-screening every portfolio against the newest lists; digests.
"""

from __future__ import annotations

from screener.casework.decisions import (
    DECISIONS,
    STATES,
    DecisionError,
    audit_log,
    configured_analyst,
    decision_history,
    default_analyst,
    export_audit_log,
    parse_decision,
)
from screener.casework.monitor import MonitorError, MonitorReport, run_monitor, write_digest
from screener.casework.portfolios import Portfolio, PortfolioError, add_portfolio, load_portfolio, portfolio_names
from screener.casework.review import decide, import_decisions
from screener.casework.runs import (
    CHANGE_LABELS,
    PortfolioRun,
    list_portfolios,
    portfolio_runs,
    run_changes,
    run_matches,
    run_record,
    screen_portfolio,
    snapshots_line,
)

__all__ = [
    "CHANGE_LABELS",
    "DECISIONS",
    "STATES",
    "DecisionError",
    "MonitorError",
    "MonitorReport",
    "Portfolio",
    "PortfolioError",
    "PortfolioRun",
    "add_portfolio",
    "audit_log",
    "configured_analyst",
    "decide",
    "decision_history",
    "default_analyst",
    "export_audit_log",
    "import_decisions",
    "list_portfolios",
    "load_portfolio",
    "parse_decision",
    "portfolio_names",
    "portfolio_runs",
    "run_changes",
    "run_matches",
    "run_monitor",
    "run_record",
    "screen_portfolio",
    "snapshots_line",
    "write_digest",
]
