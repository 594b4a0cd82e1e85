"""The screening pipeline: supplier rows → candidates → rules → a cited ScreenResult."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from screener import __version__
from screener.chunks import map_chunks
from screener.columns import ColumnMapping
from screener.embedded import ensure_embedded
from screener.freshness import max_age_days, with_ages
from screener.matching import MatchConfig, Matcher
from screener.overlap import read_ahead, written_behind
from screener.parties import (
    VERDICT_COLUMNS,
    PartyMapping,
    choose_columns,
    party_candidates,
    party_rows,
    shipment_verdicts,
)
from screener.plans import run
from screener.result import RunSummary, ScreenResult
from screener.rules import SUPPLIER_FIELDS, RuleSet, evaluate, load_rules
from screener.store import Lists, Store, StoreError, read_lists_kept
from screener.supplier_io import BATCH_ROWS, SupplierBatches, read_supplier_batches, row_numbers, with_source_rows

if TYPE_CHECKING:
    from screener.reports import ReportWriter

READ_ONLY_FILE = re.compile(r"Permission denied|Operation not permitted|Read-only file system", re.IGNORECASE)
NO_NAME_REASON = "No supplier name in this row: it could not be screened against the lists; add the name and screen again"

Progress = Callable[[int, int], None]
FileMapping = ColumnMapping | PartyMapping
"""The columns screened: a supplier list's one name column (and country, ...), or every party of a shipment file."""
MATCHED_FIELDS = ("name", "country", "address", "parent")
"""The supplier fields the matcher reads (see Screener._match_with_parents)."""
PARTY_MAPPING = ColumnMapping(**{role: role for role in SUPPLIER_FIELDS})
"""How a party entry (see party_entries) is screened: as a supplier row of its own."""
Review = Callable[[pl.DataFrame], pl.DataFrame]
"""Annotates the candidates (with analysts' decisions, say); those it marks `dismissed` never reach the rules."""
AS_OF_BASIS = (
    "the listings in force on {} by their listing, effective and end dates, read from the newest snapshot of each "
    "list (and from older snapshots for listings removed since)"
)


@dataclass(frozen=True)
class ScreenConfig:
    """Thresholds, extra rule files and the date of the lists to screen against."""

    match: MatchConfig = field(default_factory=MatchConfig)
    rules_files: tuple[Path, ...] = ()
    as_of: dt.date | None = None


def load_lists(db_path: Path, as_of: dt.date | None = None) -> Lists:
    """Open the store (creating it from the embedded snapshot on first use) and read the lists in force, kept beside
    the database for the next run while the file stays as it is (screener.store.read_lists_kept).

    A database the user may read but not write (a shared, read-only copy) is screened against as it is.
    """
    return read_lists_kept(Path(db_path), as_of, index_cache_dir(db_path), lambda: _read_lists(db_path, as_of))


def _read_lists(db_path: Path, as_of: dt.date | None) -> Lists:
    try:
        store = Store(db_path)
    except StoreError as error:
        if not READ_ONLY_FILE.search(str(error)):
            raise
        store = Store(db_path, read_only=True)
    with store:
        if not store.read_only:
            ensure_embedded(store)
        lists = store.read_current(as_of)
    if lists.snapshots.is_empty():
        when = f" on {as_of.isoformat()}" if as_of else ""
        raise StoreError(f"no list snapshot in {db_path} was in force{when}; run `screener sources` to see them")
    return lists


class Screener:
    """Loaded lists, matcher and rules, ready to screen many files (the UI caches one)."""

    def __init__(
        self,
        lists: Lists,
        config: ScreenConfig = ScreenConfig(),
        ruleset: RuleSet | None = None,
        *,
        index_cache: Path | None = None,
    ):
        self.lists = lists
        self.config = config
        self.ruleset = ruleset or load_rules(list(config.rules_files))
        self.matcher = Matcher(lists.names, lists.entities, config.match, cache_dir=index_cache)
        self._entity_columns = lists.entities.drop("snapshot_id")

    @classmethod
    def from_db(cls, db_path: Path, config: ScreenConfig = ScreenConfig()) -> Screener:
        return cls(load_lists(db_path, config.as_of), config, index_cache=index_cache_dir(db_path))

    def screen(
        self,
        frame: pl.DataFrame,
        mapping: FileMapping,
        *,
        progress: Progress | None = None,
        input_name: str = "",
        first_row: int = 0,
        distinct: bool = True,
        review: Review | None = None,
    ) -> ScreenResult:
        """Screen every row of a supplier or shipment frame, in input order, reporting progress per chunk of parties.

        Rows alike in every supplier field (distinct parties) are matched and judged once and the verdict joined
        back to each of them; `distinct=False` judges every row of a supplier list on its own (same results, slower).
        `first_row` is the 0-based position of the frame's first row in its file, when the frame is one batch of a
        larger file. `review` marks the candidates an analyst dismissed (casework): those are kept in the result but
        left out before the rules, row by row (rows are then judged on their own, as decisions are per row).
        """
        if isinstance(mapping, PartyMapping):
            return next(self.screen_batches([frame], mapping, progress=progress, input_name=input_name))
        distinct = distinct and review is None
        rows, candidates = self._screen_rows(frame, mapping, progress, first_row, distinct, review=review)
        return ScreenResult(rows=rows, candidates=candidates, metadata=self._metadata(input_name, mapping))

    def screen_batches(
        self,
        batches: Iterable[pl.DataFrame],
        mapping: FileMapping,
        *,
        progress: Progress | None = None,
        total_rows: int | None = None,
        input_name: str = "",
    ) -> Iterator[ScreenResult]:
        """Screen a file batch by batch: one ScreenResult per batch, `row` counting from the file's first row,
        all sharing one run's metadata. Memory follows the batch (and the parties remembered), not the file; a party
        met in an earlier batch is not screened again. Each party of a shipment is screened as a supplier row of its
        own and each row given its worst party's verdict (see screener.parties)."""
        metadata = self._metadata(input_name, mapping)
        known = ScreenedParties()
        first_row = 0
        for batch in batches:
            within = _batch_progress(progress, first_row, batch.height, total_rows)
            if isinstance(mapping, PartyMapping):
                rows, candidates = self._screen_parties(batch, mapping, within, first_row, known)
                metadata = {**metadata, "parties_screened": known.numbered}
            else:
                rows, candidates = self._screen_rows(batch, mapping, within, first_row, True, known)
            first_row += batch.height
            yield ScreenResult(rows=rows, candidates=candidates, metadata=metadata)

    def _screen_parties(
        self, frame: pl.DataFrame, mapping: PartyMapping, progress: Progress | None, first_row: int,
        known: ScreenedParties,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The rows of a shipment batch with their worst party's verdict, and every party's candidates."""
        entries = party_entries(frame, mapping, first_row)
        screened, candidates = self._screen_rows(entries.select(SUPPLIER_FIELDS), PARTY_MAPPING, progress, 0, True, known)
        rows = with_verdicts(frame, row_verdicts(entries, screened, mapping), first_row)
        return rows, party_candidates(entries, candidates)

    def _screen_rows(
        self,
        frame: pl.DataFrame,
        mapping: ColumnMapping,
        progress: Progress | None,
        first_row: int,
        distinct: bool,
        known: ScreenedParties | None = None,
        review: Review | None = None,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        suppliers = supplier_frame(frame, mapping, first_row=first_row)
        parties, party_rows = distinct_parties(suppliers, distinct)
        recalled, parties = known.recall(parties) if known else (RecalledParties.none(parties), parties)
        candidates = self._candidates(parties, progress, distinct, known.matched if known else None)
        cited = kept = self.cited(candidates)
        if review is not None:
            reviewed = review(cited)
            kept = reviewed.filter(~pl.col("dismissed")).select(cited.columns)
            cited = reviewed.drop("dismissed")
        outcomes = party_outcomes(parties, evaluated(parties, kept, self.ruleset), kept)
        if known:
            known.remember(parties, outcomes, candidates)
        screened = candidates
        outcomes, candidates = recalled.with_new(outcomes, candidates)
        outcomes = run(party_rows.lazy().join(outcomes.lazy().rename({"row": "party"}), on="party", how="left").drop("party"))
        rows = with_verdicts(frame, outcomes, first_row)
        listed = cited if review is not None or candidates is screened else self.cited(candidates)
        return rows, per_row(listed, party_rows)

    def _candidates(
        self, parties: pl.DataFrame, progress: Progress | None, distinct: bool = True,
        matched: MatchedQueries | None = None,
    ) -> pl.DataFrame:
        """The matcher's candidates for the named parties (and their parents), in_candidate_order; parties alike in
        every field the matcher reads (MATCHED_FIELDS: a shipper with other goods, say) are matched once, unless
        `distinct=False` (every party matched on its own), and those `matched` in an earlier batch not again."""
        named = parties.filter(~pl.col("name_missing")) if parties["name_missing"].any() else parties
        queries, party_queries = match_queries(named, distinct)
        recalled, queries = matched.recall(queries) if matched else (None, queries)
        done = (lambda rows: progress(rows, queries.height)) if progress else None
        found = pl.concat(map_chunks(queries, self._match_with_parents, done), how="vertical_relaxed")
        if matched:
            matched.remember(queries, found)
        if recalled is not None:
            found = pl.concat([recalled.select(found.columns), found], how="vertical_relaxed")
        found = in_candidate_order(found)
        return found if party_queries is None else per_row(found, party_queries)

    def cited(self, candidates: pl.DataFrame) -> pl.DataFrame:
        """Candidates with their listed entity's columns (list, program, dates, citation, ...)."""
        return candidates.join(self._entity_columns, on="entity_id", how="left", maintain_order="left")

    def _match_with_parents(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Candidates of the suppliers' names and of their parent companies' names (`via` tells which)."""
        own = self.matcher.match(chunk.select("row", "name", "country", "address")).with_columns(via=pl.lit("supplier"))
        if chunk["parent"].null_count() == chunk.height:  # no parent company named
            return own
        parents = chunk.filter(pl.col("parent").is_not_null() & (pl.col("parent") != pl.col("name")))
        if parents.is_empty():
            return own
        of_parents = self.matcher.match(parents.select("row", name="parent", country="country", address=pl.lit(None)))
        return pl.concat([own, of_parents.with_columns(via=pl.lit("parent"))], how="vertical_relaxed")

    def score(self, frame: pl.DataFrame, suppliers: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
        """Apply the rules to supplier rows and their candidates (all of them, or those an analyst kept)."""
        verdicts = evaluated(suppliers, candidates, self.ruleset)
        return with_verdicts(frame, party_outcomes(suppliers, verdicts, candidates))

    def check(self, name: str, country: str | None = None, address: str | None = None) -> ScreenResult:
        """Screen one entity by name, with an optional country and address."""
        frame = pl.DataFrame({"name": [name], "country": [country], "address": [address]}, schema=dict.fromkeys(
            ("name", "country", "address"), pl.String))
        return self.screen(frame, ColumnMapping(name="name", country="country", address="address"), input_name="check")

    @functools.cached_property
    def _snapshots(self) -> list[dict[str, object]]:
        """The snapshots screened against, one record per list (with the entities in force on an as-of date)."""
        snapshots = self.lists.snapshots.sort("source").select(
            "source", "title", "snapshot_id", "as_of", "url", "coverage", "origin", "sha256"
        )
        if self.config.as_of:
            in_force = self.lists.entities.group_by("source").agg(entities_in_force=pl.len().cast(pl.Int64))
            snapshots = snapshots.join(in_force, on="source", how="left").with_columns(pl.col("entities_in_force").fill_null(0))
        return [
            {**snapshot, "as_of": snapshot["as_of"].isoformat() if snapshot["as_of"] else None}
            for snapshot in snapshots.to_dicts()
        ]

    def _metadata(self, input_name: str, mapping: FileMapping) -> dict[str, object]:
        return {
            "tool_version": __version__,
            "rules_version": self.ruleset.version,
            "rules": {rule.id: {"title": rule.title, "tier": rule.tier, "basis": rule.basis} for rule in self.ruleset.rules},
            "snapshots": with_ages(self._snapshots, limit=max_age_days()),
            "max_age_days": max_age_days(),
            "thresholds": {"match": self.config.match.match_threshold, "review": self.config.match.review_threshold},
            "as_of": self.config.as_of.isoformat() if self.config.as_of else None,
            "as_of_basis": AS_OF_BASIS.format(self.config.as_of) if self.config.as_of else None,
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "input": input_name,
            "columns": mapping.as_dict(),
        }


def index_cache_dir(db_path: Path) -> Path:
    """Where the matcher's index of a database's lists is kept between runs: a folder beside the database file."""
    return Path(db_path).with_name(f"{Path(db_path).name}.index")


def party_entries(frame: pl.DataFrame, mapping: FileMapping, first_row: int = 0) -> pl.DataFrame:
    """`row, position, party` and the supplier fields of each party a row names: a supplier list's row is one party,
    a shipment's row one per named party (or one naming nobody, see screener.parties.party_rows)."""
    if isinstance(mapping, PartyMapping):
        entries = party_rows(frame, mapping, first_row)
        unnamed = [pl.lit(None, pl.String).alias(role) for role in SUPPLIER_FIELDS if role not in entries.columns]
        return entries.with_columns(unnamed).select("row", "position", "party", *SUPPLIER_FIELDS)
    return supplier_frame(frame, mapping, first_row=first_row).select(
        "row", pl.lit(0, pl.Int32).alias("position"), pl.lit(None, pl.String).alias("party"), *SUPPLIER_FIELDS
    )


def row_verdicts(entries: pl.DataFrame, screened: pl.DataFrame, mapping: FileMapping) -> pl.DataFrame:
    """Each row's verdict columns from its party entries (see party_entries) and their verdicts (`screened`, one row
    per entry in the same order): a supplier list's row has its party's, a shipment's row its worst party's."""
    verdicts = pl.concat(
        [entries.select("row", "position", "party", "name"), screened.select(*VERDICT_COLUMNS, "reasons", "fired_rules")],
        how="horizontal",
    )
    if isinstance(mapping, PartyMapping):
        return shipment_verdicts(verdicts)
    return verdicts.drop("position", "party", "name")


def party_outcomes(parties: pl.DataFrame, verdicts: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """Per party (`row`): name_missing, the tier and score (a nameless row is never below medium), the headline
    match, the reasons and the rules fired."""
    best = headline_matches(verdicts, candidates).lazy().select("row", *_headline_columns())
    # evaluate gives one verdict per party, in the parties' order
    judged = verdicts.lazy().with_columns(parties.get_column("name_missing"))
    return run(judged.join(best, on="row", how="left", maintain_order="left").select(*_outcome_columns()))


@functools.cache
def _headline_columns() -> tuple[pl.Expr, ...]:
    return (
        pl.col("entity_id").alias("match_entity_id"),
        pl.col("name").alias("match_name"),
        pl.col("source").alias("match_source"),
        pl.col("list_name").alias("match_list"),
        pl.col("score").round(1).alias("match_score"),
    )


@functools.cache
def _outcome_columns() -> tuple[pl.Expr, ...]:
    """A party's outcome from its verdict, name_missing and headline match (see party_outcomes)."""
    nameless = pl.col("name_missing")
    return (
        pl.col("row"),
        nameless,
        pl.when(nameless & pl.col("risk_tier").is_in(["low", "clear"]))
        .then(pl.lit("medium"))
        .otherwise(pl.col("risk_tier"))
        .alias("risk_tier"),
        pl.col("risk_score"),
        pl.col("match_entity_id", "match_name", "match_source", "match_list", "match_score"),
        pl.when(nameless)
        .then(pl.concat_list([pl.lit([NO_NAME_REASON], pl.List(pl.String)), pl.col("reasons")]))
        .otherwise(pl.col("reasons"))
        .alias("reasons"),
        pl.col("fired_rules"),
    )


def with_verdicts(frame: pl.DataFrame, verdicts: pl.DataFrame, first_row: int = 0) -> pl.DataFrame:
    """The input rows, in order, with their verdict columns (joined on `row`, the input position, counted from
    `first_row` for a batch of a file); an input column named like an added one is kept as `<name>_input`."""
    added = {column.casefold() for column in verdicts.columns}  # spreadsheets and tables ignore case
    clashing = [column for column in frame.columns if column.casefold() in added]
    inputs = with_source_rows(frame).lazy().rename({column: f"{column}_input" for column in clashing})
    return run(
        inputs.with_row_index("row", offset=first_row).join(verdicts.lazy(), on="row", how="left", maintain_order="left")
    )


MAX_REMEMBERED_QUERIES = 500_000


@dataclass
class MatchedQueries:
    """The matcher's queries of a run (MATCHED_FIELDS) and their candidates, so that a query met again in a later
    batch (a party new only in its goods, say) is not matched again; past MAX_REMEMBERED_QUERIES the older half is
    forgotten."""

    queries: pl.DataFrame | None = None
    candidates: pl.DataFrame | None = None
    numbered: int = 0

    def recall(self, queries: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame]:
        """The candidates of the queries matched before (`row` numbering the query in its batch) and the queries
        still to match."""
        if self.queries is None or self.candidates is None:
            return None, queries
        seen = queries.select("row", *MATCHED_FIELDS).join(self.queries, on=list(MATCHED_FIELDS), nulls_equal=True)
        candidates = seen.select("row", "known").join(self.candidates, on="known").drop("known")
        return candidates, queries.filter(~pl.col("row").is_in(seen["row"].implode()))

    def remember(self, queries: pl.DataFrame, candidates: pl.DataFrame) -> None:
        """Keep the queries just matched (`row` numbering them in their batch) with their candidates."""
        numbers = _numbered(queries, MATCHED_FIELDS, self.numbered)
        self.numbered += queries.height
        candidates = numbers.select("row", "known").join(candidates, on="row").drop("row")
        numbers = numbers.drop("row")
        self.queries = numbers if self.queries is None else pl.concat([self.queries, numbers])
        self.candidates = candidates if self.candidates is None else pl.concat([self.candidates, candidates],
                                                                              how="vertical_relaxed")
        self.queries, self.candidates = _newest(self.queries, self.candidates, MAX_REMEMBERED_QUERIES)


def _numbered(frame: pl.DataFrame, fields: Sequence[str], first: int) -> pl.DataFrame:
    """`row` and `fields` of each row, with `known`: its number in the run, counting on from `first`."""
    return frame.select("row", *fields).with_columns(known=pl.int_range(first, first + pl.len(), dtype=pl.Int64))


def _newest(kept: pl.DataFrame, attached: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`kept` and the rows `attached` to it by `known`, the older half forgotten once `kept` holds more than `limit`."""
    if kept.height <= limit:
        return kept, attached
    kept_from = kept["known"][kept.height - limit // 2]
    return kept.filter(pl.col("known") >= kept_from), attached.filter(pl.col("known") >= kept_from)


MAX_REMEMBERED_PARTIES = 500_000


@dataclass
class ScreenedParties:
    """The parties a run has screened (supplier fields, outcome and the matcher's candidates), so that a party met
    again in a later batch is recalled rather than screened again; past MAX_REMEMBERED_PARTIES the older half is
    forgotten."""

    outcomes: pl.DataFrame | None = None
    candidates: pl.DataFrame | None = None
    numbered: int = 0
    matched: MatchedQueries = field(default_factory=MatchedQueries)
    """The matcher's queries, for parties new in some field the matcher does not read (other goods, say)."""

    def recall(self, parties: pl.DataFrame) -> tuple[RecalledParties, pl.DataFrame]:
        """The batch's parties screened before (their `row` and `known` number) and the parties still to screen."""
        if self.outcomes is None:
            return RecalledParties.none(parties), parties
        found = parties.join(self.outcomes.select(*SUPPLIER_FIELDS, "known"), on=list(SUPPLIER_FIELDS), how="left",
                             nulls_equal=True, maintain_order="left")
        seen = found.filter(pl.col("known").is_not_null()).select("row", "known")
        return RecalledParties(self, seen), parties.filter(~pl.col("row").is_in(seen["row"].implode()))

    def remember(self, parties: pl.DataFrame, outcomes: pl.DataFrame, candidates: pl.DataFrame) -> None:
        """Keep the outcomes and candidates of parties just screened (`row` numbering them in their batch)."""
        numbers = _numbered(parties, SUPPLIER_FIELDS, self.numbered)
        self.numbered += parties.height
        outcomes = numbers.join(outcomes, on="row").drop("row")
        candidates = numbers.select("row", "known").join(candidates, on="row").drop("row")
        self.outcomes = outcomes if self.outcomes is None else pl.concat([self.outcomes, outcomes])
        self.candidates = candidates if self.candidates is None else pl.concat([self.candidates, candidates])
        self.outcomes, self.candidates = _newest(self.outcomes, self.candidates, MAX_REMEMBERED_PARTIES)


@dataclass(frozen=True)
class RecalledParties:
    """The parties of a batch screened in an earlier batch: `row` (their number in the batch) and `known`."""

    screened: ScreenedParties | None
    seen: pl.DataFrame

    @classmethod
    def none(cls, parties: pl.DataFrame) -> RecalledParties:
        return cls(None, pl.DataFrame(schema={"row": parties.schema["row"], "known": pl.Int64}))

    def with_new(self, outcomes: pl.DataFrame, candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Outcomes and candidates of the whole batch, by party: those recalled and those just screened."""
        screened = self.screened
        if screened is None or screened.outcomes is None or screened.candidates is None or self.seen.is_empty():
            return outcomes, candidates
        old_outcomes = self.seen.join(screened.outcomes.drop(*SUPPLIER_FIELDS), on="known").drop("known")
        old_candidates = self.seen.join(screened.candidates, on="known").drop("known")
        outcomes = pl.concat([old_outcomes.select(outcomes.columns), outcomes], how="vertical_relaxed").sort("row")
        candidates = pl.concat([old_candidates.select(candidates.columns), candidates], how="vertical_relaxed")
        return outcomes, candidates.sort("row", maintain_order=True)


def headline_matches(verdicts: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """Per row, the candidate behind its most severe fired rule (`match_entity_id`), else its best match."""
    if candidates.is_empty():
        return candidates
    decided = verdicts.lazy().select(pl.col("row").cast(candidates.schema["row"]), "match_entity_id").drop_nulls()
    return run(
        candidates.lazy()
        .filter(pl.col("band") == "match")
        .join(decided, on="row", how="left")
        .with_columns(decided=(pl.col("entity_id") == pl.col("match_entity_id")).fill_null(False))
        .sort(["row", "decided", "score"], descending=[False, True, True])
        .unique("row", keep="first", maintain_order=True)
    )


def supplier_frame(frame: pl.DataFrame, mapping: ColumnMapping, *, first_row: int = 0) -> pl.DataFrame:
    """The standard supplier columns (row, name, country, ...), null where the file lacks a role."""
    columns = mapping.as_dict()
    roles = tuple(columns.get(role) for role in SUPPLIER_FIELDS)
    return frame.select(row_numbers(first_row), *_supplier_columns(roles))


@functools.lru_cache(maxsize=64)
def _supplier_columns(columns: tuple[str | None, ...]) -> tuple[pl.Expr, ...]:
    """Each of SUPPLIER_FIELDS from its column (trimmed, blank as null; null without a column) and name_missing."""
    selected = [
        (pl.col(column).str.strip_chars().replace("", None) if column else pl.lit(None, pl.String)).alias(role)
        for role, column in zip(SUPPLIER_FIELDS, columns, strict=True)
    ]
    return *selected, selected[SUPPLIER_FIELDS.index("name")].is_null().alias("name_missing")


def evaluated(suppliers: pl.DataFrame, candidates: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """The rules' verdicts (`evaluate`) on the suppliers, a part per chunk thread: a row's verdict reads its own facts
    and candidates only, and the rules, single-threaded in good part, then use every core (on one, all at once: each
    call costs ~40 trips to polars and a recompilation of the patterns the matcher's use displaced)."""

    def verdicts(chunk: pl.DataFrame) -> pl.DataFrame:
        whole = chunk.height == suppliers.height
        return evaluate(chunk, candidates if whole else candidates.join(chunk.select("row"), on="row", how="semi"), ruleset)

    return pl.concat(map_chunks(suppliers, verdicts, one_per_thread=True))


def distinct_parties(suppliers: pl.DataFrame, distinct: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The parties to screen (`row` numbering each, with its supplier fields) and `row, party` for every row.

    A party is a distinct combination of every field the matcher or a rule reads (SUPPLIER_FIELDS), numbered in
    order of first appearance; with `distinct=False` every row is a party of its own.
    """
    if not distinct:
        return suppliers, suppliers.select("row", party="row")
    return distinct_rows(suppliers, SUPPLIER_FIELDS, (*SUPPLIER_FIELDS, "name_missing"))


def match_queries(named: pl.DataFrame, distinct: bool = True) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """What the matcher is given for the named parties: each distinct combination of MATCHED_FIELDS (numbered `row`),
    and `row, party` giving each party its query — or the parties themselves and None, when no name repeats or with
    `distinct=False`."""
    if not distinct or named["name"].n_unique() == named.height:
        return named, None
    return distinct_rows(named, MATCHED_FIELDS, MATCHED_FIELDS)


def distinct_rows(
    frame: pl.DataFrame, fields: Sequence[str], columns: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The distinct combinations of `fields` in a frame of numbered rows (`row`), numbered in order of first
    appearance as `row` with the `columns` of their first row, and `row, party` giving each row its number."""
    if frame.height == 1:  # one row is one party: nothing to deduplicate
        number = pl.lit(0, frame.schema["row"])
        return frame.select(number.alias("row"), *columns), frame.select("row", party=number)
    others = [column for column in columns if column not in fields]
    groups = (
        frame.with_row_index("position")
        .group_by(fields, maintain_order=True)
        .agg("position", "row", *(pl.col(column).first() for column in others))
        .with_columns(number=pl.int_range(pl.len(), dtype=frame.schema["row"]))  # type: ignore[call-overload]  # polars' stub omits a DataType instance
    )
    party_rows = groups.select("position", "row", party="number").explode("position", "row").sort("position")
    return groups.select(pl.col("number").alias("row"), *columns), party_rows.select("row", "party")


def in_candidate_order(candidates: pl.DataFrame) -> pl.DataFrame:
    """Candidates by row, best score first, the supplier's own name before its parent's, then by entity and name: one
    order whatever rows were matched together (ties in score are otherwise ordered as the matcher met them)."""
    return candidates.sort(*_candidate_order(), descending=[False, True, False, False, False, False], nulls_last=True)


@functools.cache
def _candidate_order() -> tuple[str | pl.Expr, ...]:
    return "row", "score", pl.col("via") != "supplier", "entity_id", "matched_name", "name_kind"


def per_row(candidates: pl.DataFrame, party_rows: pl.DataFrame) -> pl.DataFrame:
    """Party candidates given to every row of their party, by row, keeping each party's candidate order."""
    if candidates.is_empty():
        return candidates.select("row", pl.exclude("row"))
    ordered = candidates.lazy().rename({"row": "party"}).with_row_index("order")
    return run(
        party_rows.lazy()
        .join(ordered, on="party")
        .sort("row", "order")
        .select(pl.col("row").cast(candidates.schema["row"]), *(column for column in candidates.columns if column != "row"))
    )


def _batch_progress(progress: Progress | None, first_row: int, height: int, total: int | None) -> Progress | None:
    """Progress within one batch reported as rows of the whole file."""
    if progress is None:
        return None

    def report(done: int, parties: int) -> None:
        rows_done = first_row + (height * done // parties if parties else height)
        progress(rows_done, max(total or 0, rows_done))

    return report


def screen_file(
    path: Path,
    db_path: Path,
    *,
    config: ScreenConfig = ScreenConfig(),
    columns: dict[str, str | None] | None = None,
    parties: Sequence[str] = (),
    sheet: str | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ScreenResult:
    """Screen a supplier list or a shipment file (see screen_parts) and keep the whole result in memory."""
    source = read_supplier_batches(path, sheet=sheet, batch_rows=batch_rows)
    parts = list(screen_parts(source, Path(path).name, db_path, config=config, columns=columns, parties=parties,
                              progress=progress))
    rows = pl.concat([part.rows for part in parts], how="vertical_relaxed")
    candidates = pl.concat([part.candidates for part in parts], how="vertical_relaxed")
    return ScreenResult(rows, candidates, {**parts[-1].metadata, "input_repairs": list(source.repairs)})


def screen_to_report(
    path: Path,
    out: Path | None,
    db_path: Path,
    *,
    format: str | None = None,
    config: ScreenConfig = ScreenConfig(),
    columns: dict[str, str | None] | None = None,
    parties: Sequence[str] = (),
    sheet: str | None = None,
    progress: Progress | None = None,
    stage: Callable[[str], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    screener: Screener | None = None,
    writer: ReportWriter | None = None,
    reader: Callable[..., SupplierBatches] = read_supplier_batches,
) -> RunSummary:
    """Screen a supplier list or a shipment file (see screen_parts) batch by batch into a report at `out` (none: only
    the summary), in memory that follows the batch, not the file; a report format that cannot hold the file's rows is
    refused before screening.

    `progress(rows done, rows)` follows the screening; `stage(label)` names the report's last step (sidecars, or the
    whole XLSX or HTML report, written once every batch is screened). A `screener` already loaded (a server's) is used
    instead of loading the lists of `db_path` with `config`; a `writer` (a server storing a job's batches) receives the
    batches instead of a report file at `out`; a `reader` other than read_supplier_batches (a server reads strangers'
    files in a child process: screener.isolated) reads the file."""
    from screener.reports import check_report_rows, report_format  # loads only for a file screened

    source = reader(path, sheet=sheet, batch_rows=batch_rows)
    chosen = report_format(out, format) if out is not None else None
    if chosen:
        check_report_rows(chosen, source.rows)
    parts = screen_parts(source, Path(path).name, db_path, config=config, columns=columns, parties=parties,
                         progress=progress, screener=screener)
    # a report file is written behind the screening; a server's writer (its store) is given the batches in turn
    with written_behind_report(out, chosen) if out is not None else nullcontext(writer) as writer:
        summary = RunSummary(metadata={})
        for part in parts:
            summary.metadata = part.metadata
            summary.add(part)
            if writer:
                writer.write(part)
        summary.metadata = {**summary.metadata, "input_repairs": list(source.repairs)}
        if writer:
            if stage:
                stage(f"Writing {Path(out).name}")  # type: ignore[arg-type]  # a writer means an output path
            writer.finish(summary)
    return summary


@contextmanager
def written_behind_report(out: Path, format: str | None) -> Iterator[ReportWriter]:
    """The report writer of `out`, its batches written while the next ones are screened (screener.overlap)."""
    from screener.reports import report_writer

    with report_writer(out, format) as opened, written_behind(opened) as writer:
        yield writer


def screen_parts(
    source: SupplierBatches,
    input_name: str,
    db_path: Path,
    *,
    config: ScreenConfig = ScreenConfig(),
    columns: dict[str, str | None] | None = None,
    parties: Sequence[str] = (),
    progress: Progress | None = None,
    screener: Screener | None = None,
) -> Iterator[ScreenResult]:
    """The batches of a file being read, screened one by one: every party of a shipment file (the `parties` given, or
    the bill-of-lading headers found: see screener.parties), else the one name column of a supplier list (`columns`
    are the roles the user named). The columns are checked before the lists of `db_path` are loaded (unless a
    `screener` is given)."""
    mapping = choose_columns(source.header, parties, columns)
    screener = screener or Screener.from_db(db_path, config)
    batches = read_ahead(source.batches)  # the next batch read while this one is screened
    return screener.screen_batches(batches, mapping, progress=progress, total_rows=source.rows, input_name=input_name)


def tiers_summary(rows: pl.DataFrame, tiers: Sequence[str]) -> dict[str, int]:
    """Count of rows per tier, every tier present."""
    counts = dict(rows.group_by("risk_tier").len().iter_rows())
    return {tier: counts.get(tier, 0) for tier in tiers}
