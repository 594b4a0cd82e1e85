"""Queries by example, screened through `Screener.screen` (the path of `screener check` and `screener screen`),
and their answers in yente's shapes: candidates as scored entities (score 0-1, match, explanations) with the
verdict (tier, cited reasons, lists used) riding along for clients that read it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from screener import settings
from screener.columns import ColumnMapping
from screener.plans import run
from screener.result import TIERS, ScreenResult
from screener.screening import Screener, supplier_frame
from screener.service.catalog import Catalog
from screener.service.errors import ServiceError

ALL_DATASETS = "default"
MAX_BATCH = 100
MAX_LIMIT = 500
DEFAULT_LIMIT = 5
ALGORITHM = "screener-structural"
# yente's algorithm names: accepted so its clients run unchanged; every one is answered by the one matcher here
YENTE_ALGORITHMS = ("best", "logic-v1", "logic-v2", "name-based", "name-qualified", "regression-v1", "regression-v2")
NAME_PROPERTIES = ("name", "alias", "previousName", "weakAlias", "abbreviation")
COUNTRY_PROPERTIES = ("country", "jurisdiction", "mainCountry", "nationality", "registrationCountry")
ADDRESS_PROPERTIES = ("address", "addressFull")
REGISTRATION_PROPERTIES = ("registrationNumber", "taxNumber", "uscc", "idNumber")
QUERY_SCHEMATA = frozenset({
    "Thing", "LegalEntity", "Organization", "Company", "PublicBody", "Person", "Vessel", "Asset",
})
QUERY_COLUMNS = ColumnMapping(name="name", country="country", address="address", uscc="uscc")


@dataclass(frozen=True)
class Query:
    """One example to match: its key in the request, every name given, and the first country, address and
    registration number."""

    key: str
    names: tuple[str, ...]
    country: str | None = None
    address: str | None = None
    registration: str | None = None


def _values(properties: dict[str, Any], names: Iterable[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        value = properties.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                found.append(item.strip())
    return found


def query_from_example(key: str, schema: str, properties: dict[str, Any]) -> Query:
    """A Query from a yente example (`{"schema": ..., "properties": {"name": [...], ...}}`)."""
    if schema not in QUERY_SCHEMATA:
        raise ServiceError(
            "bad_schema", f"query {key!r}: cannot match schema {schema!r}; use one of {', '.join(sorted(QUERY_SCHEMATA))}"
        )
    names = tuple(dict.fromkeys(_values(properties, NAME_PROPERTIES)))
    if not names:
        raise ServiceError("query_without_name", f"query {key!r} has no name: give properties.name, e.g. [\"Hoshine Silicon\"]")
    first = lambda props: next(iter(_values(properties, props)), None)  # noqa: E731
    return Query(key, names, first(COUNTRY_PROPERTIES), first(ADDRESS_PROPERTIES), first(REGISTRATION_PROPERTIES))


def check_batch(queries: Sequence[Query]) -> None:
    if not queries:
        raise ServiceError("no_queries", "the request holds no queries: send {\"queries\": {\"q1\": {...}}}")
    if len(queries) > MAX_BATCH:
        raise ServiceError("batch_too_large", f"too many queries in one batch ({len(queries)}; the limit is {MAX_BATCH}); split it")


def check_algorithm(algorithm: str) -> None:
    if algorithm not in (ALGORITHM, *YENTE_ALGORITHMS):
        raise ServiceError(
            "unknown_algorithm", f"unknown algorithm {algorithm!r}; use {ALGORITHM} (yente's names are accepted too)"
        )


@dataclass(frozen=True)
class Matched:
    """The screening of a batch of queries: the result and which result rows belong to which query."""

    queries: tuple[Query, ...]
    result: ScreenResult
    row_query: pl.DataFrame  # row → key

    def part(self, tag: str, queries: Sequence[Query]) -> Matched:
        """The rows of the queries whose keys were tagged with `tag` (see Coalescer), keys as the caller gave them."""
        row_query = self.row_query.filter(pl.col("key").str.starts_with(tag)).with_columns(
            pl.col("key").str.strip_prefix(tag))
        rows = row_query["row"]
        result = ScreenResult(
            rows=self.result.rows.filter(pl.col("row").is_in(rows.cast(self.result.rows.schema["row"]).implode())),
            candidates=self.result.candidates.filter(pl.col("row").is_in(rows.implode())),
            metadata=self.result.metadata,
        )
        return Matched(tuple(queries), result, row_query)


def screen_queries(screener: Screener, queries: Sequence[Query], keep: pl.Expr | None = None) -> Matched:
    """Screen every name of every query in one call. With `keep` (a filter on the candidates, which carry the
    query's `key`), only the candidates kept count, for the results and for the verdict (as an analyst's choice)."""
    rows = [(query.key, name, query.country, query.address, query.registration) for query in queries for name in query.names]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(("key", "name", "country", "address", "uscc"), pl.String), orient="row")
    result = screener.screen(frame, QUERY_COLUMNS, input_name="api")
    row_query = frame.with_row_index("row").select(pl.col("row").cast(result.candidates.schema["row"]), "key")
    if keep is not None:
        candidates = result.candidates.join(row_query, on="row").filter(keep).drop("key")
        rows_out = screener.score(frame, supplier_frame(frame, QUERY_COLUMNS), candidates)
        result = ScreenResult(rows=rows_out, candidates=candidates, metadata=result.metadata)
    return Matched(tuple(queries), result, row_query)


@dataclass
class _Ticket:
    queries: Sequence[Query]
    matched: Matched | None = None
    error: BaseException | None = None


class Coalescer:
    """Screens the queries of requests that arrive while a screening runs together, in the next single call.

    One call costs little more for many rows than for one (the fixed cost of a screening dominates a single
    name), so under concurrent load requests share calls instead of queueing for the matcher one by one. A
    request that finds the matcher idle is screened at once when it is alone, as it was last time: a lone client
    waits for nobody. After a screening that several requests shared, the next one gathers for up to `gather`
    seconds, until as many requests have come as took part in the last round (its screening and those that came
    while it ran): the clients just answered are on their way back, and without the wait the first of them would be
    screened alone while the others queue behind it, and rounds would alternate between one request and the rest."""

    def __init__(self, gather: float = settings.SERVICE_GATHER_SECONDS.default) -> None:
        self.gather = gather
        self._changed = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._busy = False
        self._last_round = 1  # requests in the last round: its screening and those that came while it ran

    def screen(self, screener: Screener, queries: Sequence[Query]) -> Matched:
        ticket = _Ticket(queries)
        batch = self._take_turn(ticket)
        if batch:
            self._run(screener, batch)
        if ticket.error is not None:
            raise ticket.error
        assert ticket.matched is not None
        return ticket.matched

    def _take_turn(self, ticket: _Ticket) -> list[_Ticket]:
        """Wait until the ticket is answered (returns []) or it is its turn to run the waiting tickets (returns them)."""
        with self._changed:
            self._waiting.append(ticket)
            self._changed.notify_all()  # a request gathering others may be waiting for this one
            deadline: float | None = None  # set when the matcher is first found idle with too few requests
            while ticket.matched is None and ticket.error is None:
                if self._busy:
                    self._changed.wait()
                    continue
                if len(self._waiting) < self._last_round:
                    deadline = deadline or time.monotonic() + self.gather
                    left = deadline - time.monotonic()
                    if left > 0:
                        self._changed.wait(left)
                        continue
                self._busy = True
                batch, self._waiting = self._waiting, []
                return batch
            return []

    def _run(self, screener: Screener, batch: list[_Ticket]) -> None:
        try:
            if len(batch) == 1:  # a lone request: its own keys, nothing to split
                batch[0].matched = screen_queries(screener, batch[0].queries)
                return
            tagged = [replace(query, key=f"{n}:{query.key}") for n, ticket in enumerate(batch) for query in ticket.queries]
            matched = screen_queries(screener, tagged)
            for n, ticket in enumerate(batch):
                ticket.matched = matched.part(f"{n}:", ticket.queries)
        except BaseException as error:  # every request of the batch learns of the failure, not only this one
            for ticket in batch:
                ticket.error = error
        finally:
            with self._changed:
                self._busy = False
                self._last_round = len(batch) + len(self._waiting)
                self._changed.notify_all()


def in_dataset(dataset: str) -> pl.Expr | None:
    """The candidate filter of a /match dataset: all lists, or one list by its source name."""
    return None if dataset == ALL_DATASETS else pl.col("source") == dataset


def verdicts(matched: Matched) -> dict[str, dict[str, Any]]:
    """Per query key, the verdict of its most severe name: tier, score, headline match and cited reasons."""
    rank = {tier: position for position, tier in enumerate(TIERS)}
    best: dict[str, dict[str, Any]] = {}
    keys = dict(matched.row_query.iter_rows())
    for row in matched.result.rows.iter_rows(named=True):
        key = keys[row["row"]]
        held = best.get(key)
        if held is None or (rank[row["risk_tier"]], -row["risk_score"]) < (rank[held["risk_tier"]], -held["risk_score"]):
            best[key] = row
    return {
        key: {
            "tier": row["risk_tier"],
            "risk_score": row["risk_score"],
            "headline_entity_id": row.get("match_entity_id"),
            "fired_rules": list(row.get("fired_rules") or []),
            "reasons": list(row["reasons"]),
        }
        for key, row in best.items()
    }


def scored_candidates(matched: Matched, limit: int | None = None) -> pl.DataFrame:
    """Per query key and entity, its best-scoring candidate (the name that scored highest), best first, with `total`,
    the number of entities of its key; with `limit`, only the first `limit` of each key. One trip to polars."""
    candidates = matched.result.candidates
    if candidates.is_empty():
        return candidates.with_columns(key=pl.lit(None, pl.String), total=pl.lit(0, pl.UInt32))
    best = (
        candidates.lazy().join(matched.row_query.lazy(), on="row")
        .join(matched.result.rows.lazy().select(pl.col("row").cast(candidates.schema["row"]), query_name="name"), on="row")
        .sort(["key", "score"], descending=[False, True])
        .unique(["key", "entity_id"], keep="first", maintain_order=True)
        .with_columns(total=pl.len().over("key"))
    )
    return run(best if limit is None else best.filter(pl.int_range(pl.len()).over("key") < limit))


def scored_entity(catalog: Catalog, candidate: dict[str, Any], threshold: float) -> dict[str, Any]:
    """A candidate as yente's ScoredEntityResponse, with the listing, band and explanation added."""
    score = round(candidate["score"] / 100, 4)
    entity = catalog.get(candidate["entity_id"]) or {"id": candidate["entity_id"], "caption": candidate["name"]}
    return {
        **entity,
        "listing": catalog.listing_with_age(entity),
        "score": score,
        "match": score >= threshold,
        "explanations": {  # nomenklatura's FtResult: the name compared on each side and how
            "name_match": {"score": score, "detail": candidate["explanation"], "query": candidate.get("query_name"),
                           "candidate": candidate["matched_name"]},
        },
        "band": candidate["band"],
        "matched_name": candidate["matched_name"],
        "name_kind": candidate["name_kind"],
        "relation": candidate.get("relation"),
    }


def grouped_results(
    matched: Matched, catalog: Catalog, threshold: float, limit: int
) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Per query key: the number of candidate entities and the best `limit` of them as scored entities."""
    grouped: dict[str, tuple[int, list[dict[str, Any]]]] = {query.key: (0, []) for query in matched.queries}
    for candidate in scored_candidates(matched, limit).iter_rows(named=True):
        _, results = grouped[candidate["key"]]
        results.append(scored_entity(catalog, candidate, threshold))
        grouped[candidate["key"]] = (candidate["total"], results)
    return grouped


def lists_used(result: ScreenResult) -> list[dict[str, Any]]:
    """The snapshot of each list screened against, with its age (what every flag cites)."""
    fields = ("source", "title", "snapshot_id", "as_of", "age_days", "age_warning", "url")
    return [{field: snapshot.get(field) for field in fields} for snapshot in result.metadata.get("snapshots") or []]


def match_response(
    screener: Screener, catalog: Catalog, coalescer: Coalescer, examples: dict[str, tuple[str, dict[str, Any]]], *,
    dataset: str, limit: int, threshold: float | None,
) -> dict[str, Any]:
    """The answer to POST /match/{dataset}: yente's EntityMatchResponse plus verdicts and the lists used."""
    queries = [query_from_example(key, schema, properties) for key, (schema, properties) in examples.items()]
    check_batch(queries)
    keep = in_dataset(dataset)
    matched = coalescer.screen(screener, queries) if keep is None else screen_queries(screener, queries, keep)
    threshold = default_threshold(screener) if threshold is None else threshold
    results = grouped_results(matched, catalog, threshold, limit)
    verdict = verdicts(matched)
    responses = {}
    for query in queries:
        total, scored = results[query.key]
        responses[query.key] = {
            "status": 200,
            "results": scored,
            "total": {"value": total, "relation": "eq"},
            "query": {"id": None, "schema": examples[query.key][0], "properties": examples[query.key][1]},
            **verdict.get(query.key, {}),
        }
    return {
        "responses": responses,
        "limit": limit,
        "algorithm": ALGORITHM,
        "threshold": threshold,
        "lists": lists_used(matched.result),
        "rules_version": matched.result.metadata.get("rules_version"),
    }


def default_threshold(screener: Screener) -> float:
    """The match threshold of the matcher on yente's 0-1 scale."""
    return screener.config.match.match_threshold / 100
