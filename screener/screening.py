"""The screening pipeline: supplier rows → candidates → rules → a cited ScreenResult."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from screener import __version__
from screener.columns import ColumnMapping, detect_columns
from screener.embedded import ensure_embedded
from screener.freshness import max_age_days, with_ages
from screener.matching import MatchConfig, Matcher
from screener.result import ScreenResult
from screener.rules import RuleSet, evaluate, load_rules
from screener.store import Lists, Store, StoreError
from screener.supplier_io import read_supplier_table, with_source_rows

SUPPLIER_FIELDS = ("name", "country", "address", "product", "hs_code", "uscc", "parent")
CHUNK_ROWS = 5_000
READ_ONLY_FILE = re.compile(r"Permission denied|Operation not permitted|Read-only file system", re.IGNORECASE)
NO_NAME_REASON = "No supplier name in this row: it could not be screened against the lists; add the name and screen again"

Progress = Callable[[int, int], None]
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
    """Open the store (creating it from the embedded snapshot on first use) and read the lists in force.

    A database the user may read but not write (a shared, read-only copy) is screened against as it is.
    """
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
        self, frame: pl.DataFrame, mapping: ColumnMapping, *, progress: Progress | None = None, input_name: str = ""
    ) -> ScreenResult:
        """Screen every row of a supplier frame, in input order, reporting progress per chunk."""
        suppliers = supplier_frame(frame, mapping)
        candidate_chunks = []
        for start in range(0, max(suppliers.height, 1), CHUNK_ROWS):
            chunk = suppliers.slice(start, CHUNK_ROWS).filter(~pl.col("name_missing"))
            candidate_chunks.append(self._match_with_parents(chunk))
            if progress:
                progress(min(start + CHUNK_ROWS, suppliers.height), suppliers.height)
        candidates = pl.concat(candidate_chunks, how="vertical_relaxed").join(
            self._entity_columns, on="entity_id", how="left"
        )
        rows = self.score(frame, suppliers, candidates)
        return ScreenResult(rows=rows, candidates=candidates, metadata=self._metadata(input_name, mapping))

    def _match_with_parents(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Candidates of the suppliers' names and of their parent companies' names (`via` tells which)."""
        own = self.matcher.match(chunk.select("row", "name", "country", "address")).with_columns(via=pl.lit("supplier"))
        parents = chunk.filter(pl.col("parent").is_not_null() & (pl.col("parent") != pl.col("name")))
        if parents.is_empty():
            return own
        of_parents = self.matcher.match(parents.select("row", name="parent", country="country", address=pl.lit(None)))
        return pl.concat([own, of_parents.with_columns(via=pl.lit("parent"))], how="vertical_relaxed")

    def score(self, frame: pl.DataFrame, suppliers: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
        """Apply the rules to supplier rows and their candidates (all of them, or those an analyst kept)."""
        verdicts = evaluate(suppliers.drop("name_missing"), candidates, self.ruleset)
        return self._assemble(frame, suppliers, verdicts, candidates)

    def check(self, name: str, country: str | None = None, address: str | None = None) -> ScreenResult:
        """Screen one entity by name, with an optional country and address."""
        frame = pl.DataFrame({"name": [name], "country": [country], "address": [address]}, schema=dict.fromkeys(
            ("name", "country", "address"), pl.String))
        return self.screen(frame, ColumnMapping(name="name", country="country", address="address"), input_name="check")

    def _assemble(
        self, frame: pl.DataFrame, suppliers: pl.DataFrame, verdicts: pl.DataFrame, candidates: pl.DataFrame
    ) -> pl.DataFrame:
        best = headline_matches(verdicts, candidates).select(
            "row",
            match_entity_id=pl.col("entity_id"),
            match_name=pl.col("name"),
            match_source=pl.col("source"),
            match_list=pl.col("list_name"),
            match_score=pl.col("score").round(1),
        )
        verdicts = verdicts.join(suppliers.select("row", "name_missing"), on="row").with_columns(
            risk_tier=pl.when(pl.col("name_missing") & pl.col("risk_tier").is_in(["low", "clear"]))
            .then(pl.lit("medium"))
            .otherwise(pl.col("risk_tier")),
            reasons=pl.when(pl.col("name_missing"))
            .then(pl.concat_str([pl.lit(NO_NAME_REASON), pl.col("reasons")], separator=" | ", ignore_nulls=True))
            .otherwise(pl.col("reasons")),
        )
        output = verdicts.select("row", "name_missing", "risk_tier", "risk_score").join(best, on="row", how="left")
        output = output.join(verdicts.select("row", "reasons", "fired_rules"), on="row", how="left")
        return with_verdicts(frame, output)

    def _metadata(self, input_name: str, mapping: ColumnMapping) -> dict[str, object]:
        snapshots = self.lists.snapshots.sort("source").select(
            "source", "title", "snapshot_id", "as_of", "url", "coverage", "origin", "sha256"
        )
        if self.config.as_of:
            in_force = self.lists.entities.group_by("source").agg(entities_in_force=pl.len().cast(pl.Int64))
            snapshots = snapshots.join(in_force, on="source", how="left").with_columns(pl.col("entities_in_force").fill_null(0))
        return {
            "tool_version": __version__,
            "rules_version": self.ruleset.version,
            "rules": {rule.id: {"title": rule.title, "tier": rule.tier, "basis": rule.basis} for rule in self.ruleset.rules},
            "snapshots": with_ages(
                [
                    {**snapshot, "as_of": snapshot["as_of"].isoformat() if snapshot["as_of"] else None}
                    for snapshot in snapshots.to_dicts()
                ],
                limit=max_age_days(),
            ),
            "max_age_days": max_age_days(),
            "thresholds": {"match": self.config.match.match_threshold, "review": self.config.match.review_threshold},
            "as_of": self.config.as_of.isoformat() if self.config.as_of else None,
            "as_of_basis": AS_OF_BASIS.format(self.config.as_of) if self.config.as_of else None,
            "run_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "input": input_name,
            "columns": mapping.as_dict(),
        }


def index_cache_dir(db_path: Path) -> Path:
    """Where the matcher's index of a database's lists is kept between runs: a folder beside the database file."""
    return Path(db_path).with_name(f"{Path(db_path).name}.index")


def headline_matches(verdicts: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """Per row, the candidate behind its most severe fired rule (`match_entity_id`), else its best match."""
    decided = verdicts.select(pl.col("row").cast(candidates.schema["row"]), "match_entity_id").drop_nulls()
    return (
        candidates.filter(pl.col("band") == "match")
        .join(decided, on="row", how="left")
        .with_columns(decided=(pl.col("entity_id") == pl.col("match_entity_id")).fill_null(False))
        .sort(["row", "decided", "score"], descending=[False, True, True])
        .unique("row", keep="first", maintain_order=True)
    )


def with_verdicts(frame: pl.DataFrame, verdicts: pl.DataFrame) -> pl.DataFrame:
    """The input rows, in order, with their verdict columns (joined on `row`, the input position); an input column
    named like an added one is kept as `<name>_input`."""
    added = {column.casefold() for column in verdicts.columns}  # spreadsheets and tables ignore case
    clashing = [column for column in frame.columns if column.casefold() in added]
    inputs = with_source_rows(frame).rename({column: f"{column}_input" for column in clashing})
    return inputs.with_row_index("row").join(verdicts, on="row", how="left").sort("row")


def supplier_frame(frame: pl.DataFrame, mapping: ColumnMapping) -> pl.DataFrame:
    """The standard supplier columns (row, name, country, ...), null where the file lacks a role."""
    columns = mapping.as_dict()
    selected = [
        (pl.col(columns[role]).str.strip_chars() if columns.get(role) else pl.lit(None, pl.String)).alias(role)
        for role in SUPPLIER_FIELDS
    ]
    return (
        frame.with_row_index("row")
        .select(pl.col("row"), *selected)
        .with_columns(pl.col(role).replace("", None) for role in SUPPLIER_FIELDS)
        .with_columns(name_missing=pl.col("name").is_null())
    )


def screen_file(
    path: Path,
    db_path: Path,
    *,
    config: ScreenConfig = ScreenConfig(),
    columns: dict[str, str | None] | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> ScreenResult:
    """Read a supplier file, detect its columns and screen it against the lists in force."""
    table = read_supplier_table(path, sheet=sheet)
    mapping = detect_columns(table.frame, **(columns or {}))
    result = Screener.from_db(db_path, config).screen(table.frame, mapping, progress=progress, input_name=Path(path).name)
    return replace(result, metadata={**result.metadata, "input_repairs": list(table.repairs)})


def tiers_summary(rows: pl.DataFrame, tiers: Sequence[str]) -> dict[str, int]:
    """Count of rows per tier, every tier present."""
    counts = dict(rows.group_by("risk_tier").len().iter_rows())
    return {tier: counts.get(tier, 0) for tier in tiers}
