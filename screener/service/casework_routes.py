"""Portfolios and analyst decisions over the API, as the CLI has them: save and screen a portfolio, re-screen it
(decisions applied, changes since the last run), record a decision, read the audit log. Writes need a key."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from screener import casework
from screener.casework import PortfolioRun
from screener.columns import detect_columns
from screener.isolated import read_isolated
from screener.result import TIERS
from screener.screening import tiers_summary
from screener.service.errors import ServiceError
from screener.service.job_routes import Writer, read_upload
from screener.service.routes import Reader, json_response
from screener.store import Store

router = APIRouter(tags=["Portfolios and decisions"])


def run_summary(run: PortfolioRun) -> dict[str, Any]:
    """A recorded run: tiers, decision states of its matches, and what changed since the run before."""
    return {
        "portfolio": run.portfolio,
        "run_id": run.run_id,
        "previous_run_id": run.previous_run_id,
        "tiers": tiers_summary(run.result.rows, TIERS),
        "decision_states": run.result.metadata.get("decision_states", {}),
        "changes": run.changes.to_dicts(),
        "lists": [{key: snapshot.get(key) for key in ("source", "snapshot_id", "as_of", "age_days")}
                  for snapshot in run.result.metadata.get("snapshots") or []],
    }


@router.get("/portfolios", summary="Every saved portfolio with its last run")
def portfolios(state: Reader) -> Response:
    with Store(state.config.db_path) as store:
        return json_response({"portfolios": casework.list_portfolios(store).to_dicts()})


@router.post("/portfolios", status_code=201, summary="Save a supplier file as a portfolio and screen it")
def add(
    auth: Writer,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[UploadFile, File(description="The supplier list (CSV, XLSX, XLS, ODS)")],
    sheet: Annotated[str | None, Form()] = None,
    name_col: Annotated[str | None, Form()] = None,
    country_col: Annotated[str | None, Form()] = None,
    replace: Annotated[bool, Form(description="Replace the suppliers of an existing portfolio")] = False,
) -> Response:
    state, _ = auth
    filename, content = read_upload(file, state.config.max_upload_bytes)
    table = read_isolated(content, filename=filename, sheet=sheet)
    mapping = detect_columns(table.frame, name=name_col, country=country_col)
    db_path = state.config.db_path
    with Store(db_path) as store:
        casework.add_portfolio(store, name, table.frame, mapping, source_file=filename, replace=replace)
    run = casework.screen_portfolio(db_path, name.strip(), state.loaded.screener, trigger="add")
    return json_response(run_summary(run), 201)


@router.post("/portfolios/{name}/screen", summary="Screen a portfolio again: decisions applied, changes since its last run")
def rescreen(name: str, auth: Writer) -> Response:
    state, _ = auth
    return json_response(run_summary(casework.screen_portfolio(state.config.db_path, name, state.loaded.screener)))


@router.get("/portfolios/{name}/matches", summary="The matches of a portfolio's latest run: what decisions are made on")
def matches(name: str, state: Reader) -> Response:
    with Store(state.config.db_path) as store:
        known = name in casework.portfolio_names(store)
        found = casework.run_matches(store, name) if known else None
    if found is None or found.is_empty():
        raise ServiceError("no_run", f"portfolio {name!r} is unknown or has not been screened; GET /portfolios lists them", 404)
    return json_response({"portfolio": name, "matches": found.drop("evidence").to_dicts()})


class DecisionRequest(BaseModel):
    portfolio: str = Field(..., examples=["brand-x"])
    supplier: str = Field(..., description="supplier_key or the exact supplier name", examples=["Ninestar Corporation"])
    entity_id: str = Field(..., examples=["uflpa:1a2b3c4d5e6f"])
    decision: str = Field(..., description="confirmed, false-positive or escalated")
    comment: str = Field(..., min_length=1, max_length=4000)
    analyst: str = Field(..., min_length=1, max_length=200, description="Who decides (kept in the audit log)")


@router.post("/decisions", status_code=201, summary="Record a decision on a match of a portfolio's latest run")
def decide(body: DecisionRequest, auth: Writer) -> Response:
    state, key = auth
    with Store(state.config.db_path) as store:
        decision_id = casework.decide(store, body.portfolio, body.supplier, body.entity_id, body.decision,
                                      body.comment, body.analyst, origin=f"api:{key.key_id}")
    return json_response({"decision_id": decision_id, "decision": casework.parse_decision(body.decision),
                          "applies": "from the next screening of the portfolio"}, 201)


@router.get("/decisions", summary="The audit log: every decision ever recorded, oldest first")
def decisions(state: Reader, portfolio: str | None = None) -> Response:
    with Store(state.config.db_path) as store:
        log = casework.audit_log(store, portfolio)
    return json_response({"decisions": log.with_columns(pl.col("decided_at").cast(pl.String)).to_dicts()})
