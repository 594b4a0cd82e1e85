"""Read endpoints: health, readiness, yente's /match, search, entity pages and the lists in force."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from screener.entity import EntityError, entity_profile
from screener.freshness import with_ages
from screener.service.errors import ServiceError
from screener.service.matching import (
    ALL_DATASETS,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    check_algorithm,
    grouped_results,
    lists_used,
    match_response,
    verdicts,
)
from screener.service.matching import (
    Query as MatchQuery,
)
from screener.service.state import ServiceState, service_state

router = APIRouter()
State = Annotated[ServiceState, Depends(service_state)]


def json_response(content: Any, status_code: int = 200) -> Response:
    """JSON of plain values (dates as ISO text), without re-validating what the library built."""
    body = json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(body, status_code=status_code, media_type="application/json")


async def reader(request: Request, state: State) -> ServiceState:
    """A read: open on loopback, or with a key; rate-limited when a key is given. An anonymous read costs no thread
    (FastAPI runs a plain function in one); a key is checked in a thread, as it may read the store."""
    if not state.anonymous_read(request):
        await run_in_threadpool(state.caller, request, writes=False)
    return state


Reader = Annotated[ServiceState, Depends(reader)]


class EntityExample(BaseModel):
    id: str | None = Field(None, examples=["my-supplier-17"])
    schema_: str = Field(..., alias="schema", examples=["Company"])
    properties: dict[str, str | list[Any]] = Field(
        ..., examples=[{"name": ["Hoshine Silicon Industry Co."], "country": ["cn"]}]
    )


class EntityMatchQuery(BaseModel):
    """yente's request: examples by a key of the caller's choosing (weights and config are accepted and unused)."""

    weights: dict[str, float] = Field(default_factory=dict)
    config: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    queries: dict[str, EntityExample]


@router.get("/healthz", tags=["System"], summary="The process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["System"], summary="The lists are loaded")
def readyz(state: State) -> Response:
    ready, why = state.readiness
    if not ready:
        return json_response({"status": "loading" if "loading" in why else "failed", "detail": why}, 503)
    screener = state.loaded.screener
    lists = with_ages(
        [{**row, "as_of": row["as_of"].isoformat() if row["as_of"] else None}
         for row in screener.lists.snapshots.select("source", "snapshot_id", "as_of", "row_count").sort("source").to_dicts()]
    )
    return json_response({"status": "ok", "lists": lists, "entities": len(state.loaded.catalog.entities)})


@router.post("/match/{dataset}", tags=["Matching"], summary="Query by example (yente's /match)")
def match(
    body: EntityMatchQuery,
    state: Reader,
    dataset: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Results per query")] = DEFAULT_LIMIT,
    threshold: Annotated[float | None, Query(ge=0, le=1, description="Score (0-1) from which `match` is true; default: the match threshold")] = None,
    algorithm: Annotated[str, Query(description="Accepted for yente clients; one matcher answers")] = "best",
) -> Response:
    """Match a batch of up to 100 examples (`queries: {key: {schema, properties: {name, country, address,
    registrationNumber}}}`). Each response carries yente's `results` (id, caption, schema, properties, datasets,
    score 0-1, match, explanations) plus the verdict: `tier`, `risk_score`, cited `reasons`, and the `lists` used."""
    check_algorithm(algorithm)
    loaded = state.loaded
    _check_dataset(dataset, loaded.catalog.sources)
    examples = {key: (example.schema_, example.properties) for key, example in body.queries.items()}
    answer = match_response(loaded.screener, loaded.catalog, state.coalescer, examples, dataset=dataset, limit=limit, threshold=threshold)
    return json_response(answer)


@router.get("/search", tags=["Matching"], summary="Search the lists by name")
def search(
    state: Reader,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Name, in any script")],
    country: Annotated[str | None, Query(description="Country (ISO code or name)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> Response:
    """Listed entities whose names match `q` (the matcher of `screener check`), best first, with the verdict."""
    loaded = state.loaded
    matched = state.coalescer.screen(loaded.screener, [MatchQuery("q", (q.strip(),), country)])
    total, results = grouped_results(matched, loaded.catalog, loaded.screener.config.match.match_threshold / 100, limit)["q"]
    return json_response({
        "limit": limit, "offset": 0, "total": {"value": total, "relation": "eq"}, "results": results, "facets": {},
        **verdicts(matched)["q"], "lists": lists_used(matched.result),
    })


@router.get("/entities/{entity_id}", tags=["Lists"], summary="Everything stored about a listed entity")
def entity(entity_id: str, state: Reader) -> Response:
    """Every name, listing, section, dates, status, citation and the entity's status in each stored snapshot."""
    try:
        profile = entity_profile(state.config.db_path, entity_id)
    except EntityError as error:
        raise ServiceError("unknown_entity", str(error), 404) from error
    catalog_entry = state.loaded.catalog.get(entity_id) if state.readiness[0] else None
    return json_response({**profile.as_dict(), "entity": catalog_entry})


@router.get("/sources", tags=["Lists"], summary="The lists in force")
def sources(state: Reader) -> Response:
    """Each list screened against: snapshot, as-of date and age, counts, coverage, licence and source URL."""
    snapshots = state.loaded.screener.lists.snapshots.sort("source").select(
        "source", "title", "snapshot_id", "as_of", "fetched_at", "url", "row_count", "name_count", "origin", "licence",
        "coverage", "sha256",
    ).to_dicts()
    for snapshot in snapshots:
        snapshot["as_of"] = snapshot["as_of"].isoformat() if snapshot["as_of"] else None
    return json_response({"sources": with_ages(snapshots)})


def _check_dataset(dataset: str, known: frozenset[str]) -> None:
    if dataset != ALL_DATASETS and dataset not in known:
        names = ", ".join([ALL_DATASETS, *sorted(known)])
        raise ServiceError("unknown_dataset", f"no list is called {dataset!r}; use one of {names}", 404)
