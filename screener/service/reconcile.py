"""The Reconciliation Service API (v0.2) that OpenRefine speaks: the service manifest, batched queries with
types and properties, entity preview, suggest, and data extension returning each listing's tier, list,
section, listed date, status and citation. Queries go through the same screening as /match."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from screener.service.catalog import SCHEMATA, Catalog
from screener.service.errors import ServiceError
from screener.service.matching import MAX_BATCH, scored_candidates, screen_queries, verdicts
from screener.service.matching import Query as MatchQuery
from screener.service.routes import Reader, json_response
from screener.service.state import ServiceState

router = APIRouter(prefix="/reconcile", tags=["Reconciliation"])
TYPE_NAMES = {"Organization": "Organizations", "Person": "People", "Vessel": "Vessels", "LegalEntity": "Legal entities"}
COUNTRY_PIDS = ("country", "jurisdiction", "mainCountry", "nationality")
ADDRESS_PIDS = ("address", "addressFull")
REGISTRATION_PIDS = ("registrationNumber", "taxNumber", "uscc")
QUERY_PIDS = (*COUNTRY_PIDS, *ADDRESS_PIDS, *REGISTRATION_PIDS)
EXTEND_PROPERTIES = {
    "tier": "Risk tier (of a supplier matched to this listing)",
    "list": "List",
    "program": "Section or programme",
    "listed_on": "Listed on",
    "status": "Status",
    "citation": "Citation",
    "source_url": "Source URL",
    "snapshot": "List snapshot",
    "country": "Country",
    "aliases": "Other names",
}
DEFAULT_LIMIT = 5
CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,99}$")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _passed_on(request: Request) -> str:
    """The caller's api_key, passed on to the manifest's URLs (OpenRefine cannot send headers)."""
    key = request.query_params.get("api_key")
    return f"?{urlencode({'api_key': key})}" if key else ""


def manifest(request: Request, catalog: Catalog) -> dict[str, Any]:
    base, key = _base(request), _passed_on(request)
    service = f"{base}/reconcile"
    return {
        "versions": ["0.2"],
        "name": "xuar-screener: UFLPA Entity List, CBP WROs and Findings, Xinjiang sanctions",
        "identifierSpace": f"{base}/entities/",
        "schemaSpace": f"{base}/reconcile/types/",
        "documentation": f"{base}/docs",
        "batchSize": 10,
        "view": {"url": f"{base}/entities/{{{{id}}}}{key}"},
        "preview": {"url": f"{service}/preview?id={{{{id}}}}{key.replace('?', '&')}", "width": 430, "height": 300},
        "defaultTypes": entity_types(catalog),
        "suggest": {
            kind: {"service_url": service, "service_path": f"/suggest/{kind}{key}"} for kind in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {"service_url": service, "service_path": f"/extend/propose{key}"},
            "property_settings": [],
        },
    }


def entity_types(catalog: Catalog) -> list[dict[str, str]]:
    present = {entity["schema"] for entity in catalog.entities.values()}
    return [{"id": schema, "name": TYPE_NAMES[schema]} for schema in TYPE_NAMES if schema in present]


def _parse(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ServiceError("bad_json", f"the {what} field is not JSON: {error}") from error


def _property_value(value: Any) -> str | None:
    """A property value as OpenRefine sends it: text, a number, a reconciled {id, name}, or a list of these."""
    if isinstance(value, list):
        return next((text for item in value if (text := _property_value(item))), None)
    if isinstance(value, dict):
        return _property_value(value.get("name") or value.get("id"))
    return str(value).strip() or None if value is not None else None


def recon_query(key: str, query: Any, catalog: Catalog) -> tuple[MatchQuery, set[str] | None, int]:
    """A reconciliation query as a match query, the entity types it accepts (None: any) and its result limit."""
    if not isinstance(query, dict):
        raise ServiceError("bad_query", f"query {key!r} must be an object with a `query` text")
    text = query.get("query")
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("query_without_name", f"query {key!r} has no `query` text to reconcile")
    types = query.get("type")
    wanted: set[str] | None = {types} if isinstance(types, str) else set(types) if isinstance(types, list) and types else None
    known = {item["id"] for item in entity_types(catalog)} | set(SCHEMATA.values()) | {"LegalEntity", "Thing"}
    if wanted and not wanted <= known:
        raise ServiceError("unknown_type", f"query {key!r}: unknown type {sorted(wanted - known)}; types are {sorted(known)}")
    values: dict[str, str] = {}
    for prop in query.get("properties") or []:
        pid = prop.get("pid") if isinstance(prop, dict) else None
        if pid in QUERY_PIDS and (value := _property_value(prop.get("v"))) and pid not in values:
            values[pid] = value
    first = lambda pids: next((values[pid] for pid in pids if pid in values), None)  # noqa: E731
    limit: int = query["limit"] if isinstance(query.get("limit"), int) and query["limit"] > 0 else DEFAULT_LIMIT
    accepted = None if not wanted or wanted & {"LegalEntity", "Thing"} else wanted
    return MatchQuery(key, (text.strip(),), first(COUNTRY_PIDS), first(ADDRESS_PIDS), first(REGISTRATION_PIDS)), accepted, limit


def reconcile_queries(state: ServiceState, batch: Any) -> dict[str, Any]:
    """Answers to a batch of reconciliation queries: the headline match (the listing behind the tier) first, then
    the other candidates by score; `match` (OpenRefine's auto-match) on a headline match in the match band."""
    if not isinstance(batch, dict) or not batch:
        raise ServiceError("no_queries", 'the queries field holds no query: send {"q0": {"query": "Hoshine Silicon"}}')
    if len(batch) > MAX_BATCH:
        raise ServiceError("batch_too_large", f"too many queries in one batch ({len(batch)}; the limit is {MAX_BATCH}); split it")
    loaded = state.loaded
    parsed = {key: recon_query(key, query, loaded.catalog) for key, query in batch.items()}
    matched = state.coalescer.screen(loaded.screener, [query for query, _, _ in parsed.values()])
    verdict = verdicts(matched)
    answers: dict[str, Any] = {key: {"result": []} for key in parsed}
    for (key,), group in scored_candidates(matched).group_by("key", maintain_order=True):
        _, accepted, limit = parsed[key]
        headline = verdict.get(key, {}).get("headline_entity_id")
        ranked = group.sort([pl.col("entity_id") != headline, "score"], descending=[False, True])  # headline first
        results: list[dict[str, Any]] = []
        for candidate in ranked.iter_rows(named=True):
            entity = loaded.catalog.get(candidate["entity_id"])
            if entity is None or (accepted and entity["schema"] not in accepted):
                continue
            results.append(recon_result(entity, candidate, verdict.get(key, {}), first=not results))
            if len(results) == limit:
                break
        answers[key] = {"result": results}
    return answers


def recon_result(entity: dict[str, Any], candidate: dict[str, Any], verdict: dict[str, Any], first: bool) -> dict[str, Any]:
    listing = entity["listing"]
    headline = verdict.get("headline_entity_id") == entity["id"]
    return {
        "id": entity["id"],
        "name": entity["caption"],
        "type": [{"id": entity["schema"], "name": TYPE_NAMES.get(entity["schema"], entity["schema"])}],
        "score": round(candidate["score"], 1),
        "match": bool(first and headline and candidate["band"] == "match"),
        "description": " — ".join(
            part for part in (listing["list"], listing["program"], f"listed {listing['listed_on']}" if listing["listed_on"] else None,
                              f"tier {verdict['tier']}" if headline and verdict.get("tier") else None) if part
        ),
        "features": [{"id": "name_score", "value": round(candidate["score"], 1)}],
    }


def extend(state: ServiceState, request: Any) -> dict[str, Any]:
    """Data extension: the asked properties of each entity id (unknown ids get empty rows)."""
    if not isinstance(request, dict) or not isinstance(request.get("ids"), list):
        raise ServiceError("bad_extend", 'the extend field must be {"ids": [...], "properties": [{"id": "tier"}, ...]}')
    ids = [str(entity_id) for entity_id in request["ids"]]
    if len(ids) > MAX_BATCH:
        raise ServiceError("batch_too_large", f"too many ids in one extension ({len(ids)}; the limit is {MAX_BATCH}); split it")
    asked = [str(prop.get("id")) for prop in request.get("properties") or [] if isinstance(prop, dict)]
    unknown = [pid for pid in asked if pid not in EXTEND_PROPERTIES]
    if unknown:
        raise ServiceError("unknown_property", f"cannot extend with {unknown}; properties are {', '.join(EXTEND_PROPERTIES)}")
    catalog = state.loaded.catalog
    known = {entity_id: entity for entity_id in ids if (entity := catalog.get(entity_id))}
    tiers = listing_tiers(state, known) if "tier" in asked else {}
    rows = {entity_id: extension_row(known.get(entity_id), asked, tiers.get(entity_id)) for entity_id in ids}
    return {"meta": [{"id": pid, "name": EXTEND_PROPERTIES[pid]} for pid in asked], "rows": rows}


def listing_tiers(state: ServiceState, entities: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The tier the rules give a supplier matched to each listing: its listed name and country screened, with
    only that listing kept as the match (as an analyst confirming it)."""
    if not entities:
        return {}
    queries = [
        MatchQuery(entity_id, (entity["caption"],), (entity["properties"].get("country") or [None])[0])
        for entity_id, entity in entities.items()
    ]
    matched = screen_queries(state.loaded.screener, queries, keep=pl.col("entity_id") == pl.col("key"))
    return {key: verdict["tier"] for key, verdict in verdicts(matched).items()}


def extension_row(entity: dict[str, Any] | None, asked: list[str], tier: str | None) -> dict[str, list[dict[str, str]]]:
    if entity is None:
        return {pid: [] for pid in asked}
    listing = Catalog.listing_with_age(entity) or {}
    snapshot = f"#{listing['snapshot_id']}" + (
        f" as of {listing['snapshot_as_of']} ({listing['snapshot_age_days']} days old)" if listing["snapshot_as_of"] else "")
    values: dict[str, list[str | None]] = {
        "tier": [tier],
        "list": [listing["list"]],
        "program": [listing["program"]],
        "listed_on": [listing["listed_on"]],
        "status": [listing["status"]],
        "citation": [listing["citation"]],
        "source_url": [listing["source_url"]],
        "snapshot": [snapshot],
        "country": entity["properties"].get("country", []),
        "aliases": entity["properties"].get("alias", []),
    }
    return {pid: [{"str": value} for value in values[pid] if value] for pid in asked}


def _jsonp(content: Any, callback: str | None) -> Response:
    if callback is None:
        return json_response(content)
    if not CALLBACK.match(callback):
        raise ServiceError("bad_callback", "the callback parameter must be a JavaScript function name")
    body = f"{callback}({json.dumps(content, ensure_ascii=False, default=str)});"
    return Response(body, media_type="application/javascript")


@router.get("", summary="Service manifest, or queries given as ?queries=")
def reconcile_get(
    request: Request, state: Reader,
    queries: Annotated[str | None, Query(description="JSON batch of reconciliation queries")] = None,
    callback: Annotated[str | None, Query(description="JSONP callback (older OpenRefine)")] = None,
) -> Response:
    if queries:
        return _jsonp(reconcile_queries(state, _parse(queries, "queries")), callback)
    return _jsonp(manifest(request, state.loaded.catalog), callback)


@router.post("", summary="Reconciliation queries or data extension (form fields `queries` or `extend`)")
def reconcile_post(
    state: Reader,
    queries: Annotated[str | None, Form(description="JSON batch of reconciliation queries")] = None,
    extend_: Annotated[str | None, Form(alias="extend", description="JSON data extension request")] = None,
) -> Response:
    if extend_ and extend_.strip():
        return json_response(extend(state, _parse(extend_, "extend")))
    if not queries:
        raise ServiceError("no_queries", "send a `queries` or an `extend` form field (JSON), as OpenRefine does")
    return json_response(reconcile_queries(state, _parse(queries, "queries")))


@router.get("/preview", response_class=HTMLResponse, summary="A small HTML card of a listed entity")
def preview(state: Reader, id: str) -> HTMLResponse:
    entity = state.loaded.catalog.get(id)
    if entity is None:
        raise ServiceError("unknown_entity", f"no listed entity has the id {id!r}", 404)
    listing = entity["listing"]
    rows = [
        ("List", listing["list"]), ("Section", listing["program"]), ("Listed", listing["listed_on"]),
        ("Status", listing["status"]), ("Citation", listing["citation"]),
        ("Snapshot", f"#{listing['snapshot_id']} as of {listing['snapshot_as_of']}"),
    ]
    cells = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value or '')}</td></tr>" for label, value in rows)
    links = "".join(f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(url)}</a><br>'
                    for url in entity["properties"].get("sourceUrl", []))
    return HTMLResponse(
        f"<html><body style='font:13px sans-serif;margin:6px'><b>{escape(entity['caption'])}</b> "
        f"<small>{escape(entity['id'])}</small><table>{cells}</table>{links}</body></html>"
    )


@router.get("/suggest/entity", summary="Listed entities whose names contain the prefix")
def suggest_entity(state: Reader, prefix: str = "", limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Response:
    folded = prefix.strip().casefold()
    loaded = state.loaded
    ids = (
        loaded.screener.lists.names.filter(pl.col("name").str.to_lowercase().str.contains(folded, literal=True))
        .get_column("entity_id").unique(maintain_order=True).head(limit).to_list()
        if folded else []
    )
    entities = [loaded.catalog.get(entity_id) for entity_id in ids]
    results = [{"id": e["id"], "name": e["caption"], "description": e["listing"]["list"]} for e in entities if e]
    return json_response({"prefix": prefix, "result": results})


@router.get("/suggest/type", summary="Entity types whose names start with the prefix")
def suggest_type(state: Reader, prefix: str = "") -> Response:
    folded = prefix.strip().casefold()
    types = [item for item in entity_types(state.loaded.catalog) if folded and item["id"].casefold().startswith(folded)]
    return json_response({"prefix": prefix, "result": types})


@router.get("/suggest/property", summary="Extension properties whose names contain the prefix")
def suggest_property(state: Reader, prefix: str = "") -> Response:
    folded = prefix.strip().casefold()
    found = [{"id": pid, "name": name} for pid, name in EXTEND_PROPERTIES.items()
             if folded and (folded in pid.casefold() or folded in name.casefold())]
    return json_response({"prefix": prefix, "result": found})


@router.get("/extend/propose", summary="The properties data extension can add")
def propose_properties(state: Reader, type: str = "Organization") -> Response:
    return json_response({"type": type, "properties": [{"id": pid, "name": name} for pid, name in EXTEND_PROPERTIES.items()]})
