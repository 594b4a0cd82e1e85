"""Screening on Apache Spark, for files that outgrow one machine: the same `Screener` on every partition.

    from screener.spark import screen_dataframe
    screened = screen_dataframe(spark.read.parquet("s3a://bucket/bills-of-lading/"), parties=["Shipper", "Manufacturer"])

The driver loads the lists and builds the Screener (matcher and rules) once, and broadcasts it: Spark ships it once
to each executor, each Python worker process unpickles it once and keeps it for every task it runs. `mapInArrow`
hands each worker the Arrow batches of its partition; they are gathered into slices of `batch_rows` rows and screened
by the code the single-process CLI runs (`Screener.screen`, for supplier lists and shipments alike), and come out as the
CLI's report rows: the input columns, the verdict and the headline match's citation, with the same values.

`python -m screener.spark INPUT --out OUT.parquet [screen options]` (also the file given to `spark-submit`) is
`screener screen INPUT --engine spark --out OUT.parquet`.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from screener import settings
from screener.columns import ColumnMapping
from screener.errors import UsageError
from screener.parties import VERDICT_COLUMNS, choose_columns
from screener.reports.tables import report_rows, run_facts, snapshots_frame
from screener.result import ScreenResult
from screener.rules import SUPPLIER_FIELDS
from screener.screening import (
    PARTY_MAPPING,
    FileMapping,
    ScreenConfig,
    Screener,
    party_entries,
    row_verdicts,
    with_verdicts,
)
from screener.supplier_io import SOURCE_ROW, InputFileError

if TYPE_CHECKING:
    from pyspark.accumulators import Accumulator
    from pyspark.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession

BATCH_ROWS = 50_000
"""Rows screened at a time in a worker: Arrow batches of a partition are gathered up to this many."""
READERS = {".csv": ("csv", ","), ".tsv": ("csv", "\t"), ".txt": ("csv", ","), ".parquet": ("parquet", None),
           ".json": ("json", None), ".jsonl": ("json", None), ".orc": ("orc", None)}
ROW_ID = "_screener_row"
"""Numbers each input row while its parties are screened apart from it."""
ENTRIES = "_screener_parties"
"""Each input row's party entries with their verdicts, gathered back to the row."""
ENTRY_FIELDS = ("position", "party", "name", *VERDICT_COLUMNS, "reasons", "fired_rules")
_WORKER_PLANS: dict[str, ScreenPlan] = {}
"""The plan of each broadcast (by its token), unpickled once per Python worker process and kept for every later task."""


@dataclass(frozen=True)
class ScreenPlan:
    """What every partition needs: the built Screener, which columns play which role, and the run's metadata.

    Its three steps are the single-process screening taken apart at its joins: `entries` gives each row's parties
    (one for a supplier list, one per named party of a shipment), `screen_parties` screens distinct parties as
    supplier rows, and `report` gives each row its verdict from its parties' (the worst party's, for a shipment)."""

    screener: Screener
    mapping: FileMapping
    metadata: dict[str, Any]

    def entries(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The party entries of a slice of rows, `ROW_ID` telling each one's row (see party_entries)."""
        if isinstance(self.mapping, ColumnMapping):  # the single-process CLI reads every column as text
            frame = frame.with_columns(pl.col(column).cast(pl.String) for column in self.mapping.as_dict().values() if column)
        entries = party_entries(frame, self.mapping)
        return entries.select(frame[ROW_ID].gather(entries["row"]).alias(ROW_ID), pl.exclude("row"))

    def screen_parties(self, parties: pl.DataFrame) -> pl.DataFrame:
        """Distinct parties (the supplier fields) with their verdicts."""
        screened = self.screener.screen(parties, PARTY_MAPPING, input_name=str(self.metadata["input"])).rows
        return screened.select(*SUPPLIER_FIELDS, *ENTRY_FIELDS[3:])

    def report(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The report rows (the CLI's CSV and Parquet columns) of rows with their party entries (`ENTRIES`); no
        `source_row` unless the input has one."""
        rows = frame.drop(ROW_ID, ENTRIES)
        entries = (
            frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), ENTRIES)
            .explode(ENTRIES).unnest(ENTRIES).sort("row", "position")
        )
        screened = with_verdicts(rows, row_verdicts(entries, entries, self.mapping))
        headlines = screened.select("row", entity_id="match_entity_id").drop_nulls()
        report = report_rows(ScreenResult(screened, self.screener.cited(headlines), self.metadata))
        return report if SOURCE_ROW in frame.columns else report.drop(SOURCE_ROW)


Step = Callable[[ScreenPlan, pl.DataFrame], pl.DataFrame]


def plan_for(
    columns: Sequence[str],
    screener: Screener,
    *,
    parties: Sequence[str] = (),
    given: dict[str, str | None] | None = None,
    input_name: str = "",
) -> ScreenPlan:
    """The plan for a table with these columns: its parties (given or found), else its supplier-name column."""
    headers = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    mapping = choose_columns(headers, parties, given)
    return ScreenPlan(screener, mapping, screener.screen(headers, mapping, input_name=input_name).metadata)


def screen_dataframe(
    df: DataFrame,
    parties: Sequence[str] = (),
    *,
    columns: dict[str, str | None] | None = None,
    config: ScreenConfig = ScreenConfig(),
    db_path: Path | None = None,
    screener: Screener | None = None,
    batch_rows: int = BATCH_ROWS,
    parties_screened: Accumulator[int] | None = None,
) -> DataFrame:
    """Screen a Spark DataFrame of suppliers or shipments (lazily, as Spark does): its rows with the verdict columns.

    Each distinct party (every supplier field alike) is screened once in the whole DataFrame, however many rows and
    partitions name it: the rows' parties are taken apart, made distinct, screened, and joined back to their rows.
    `parties` and `columns` are the CLI's `--party-col` and `--name-col`/`--country-col`/... choices; without them the
    columns are found from the headers. The lists come from `db_path` (default: the user's database) on the driver,
    or from a `screener` already built. `parties_screened`, an accumulator, counts the parties screened.
    """
    from pyspark.sql import functions as F

    if screener is None:
        from screener.paths import default_db_path

        screener = Screener.from_db(default_db_path(db_path), config)
    plan = plan_for(df.columns, screener, parties=parties, given=columns)
    shipped = ShippedPlan(df.sparkSession.sparkContext.broadcast(plan), uuid.uuid4().hex)
    rows = df.withColumn(ROW_ID, F.monotonically_increasing_id())
    entries = _map(rows, shipped, ScreenPlan.entries, batch_rows)
    distinct = entries.select(*SUPPLIER_FIELDS).distinct()
    verdicts = _map(distinct, shipped, ScreenPlan.screen_parties, batch_rows, parties_screened)
    same_party = [entries[field].eqNullSafe(verdicts[field]) for field in SUPPLIER_FIELDS]
    judged = entries.join(verdicts, same_party).select(
        entries[ROW_ID], *(entries[field] for field in ENTRY_FIELDS[:3]), *(verdicts[field] for field in ENTRY_FIELDS[3:])
    )
    gathered = judged.groupBy(ROW_ID).agg(F.collect_list(F.struct(*ENTRY_FIELDS)).alias(ENTRIES))
    return _map(rows.join(gathered, ROW_ID), shipped, ScreenPlan.report, batch_rows)


def _map(
    df: DataFrame, shipped: ShippedPlan, step: Step, batch_rows: int, counter: Accumulator[int] | None = None
) -> DataFrame:
    """A plan's step run on every partition of `df` (`mapInArrow`), its output typed as the step gives it for no rows."""
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    empty = pl.DataFrame(pl.from_arrow(to_arrow_schema(df.schema).empty_table()))
    schema = pa.schema([field.with_type(_spark_type(field.type)) for field in step(shipped.broadcast.value, empty).to_arrow().schema])
    return df.mapInArrow(_screen_partition(shipped, schema, batch_rows, step, counter), from_arrow_schema(schema))


def _spark_type(kind: pa.DataType) -> pa.DataType:
    """The Arrow type Spark takes for a column polars writes as `kind` (Spark reads lists, not large lists)."""
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_spark_type(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_spark_type(field.type)) for field in kind])
    return kind


@dataclass(frozen=True)
class ShippedPlan:
    """A broadcast plan and the token its workers keep it under: what each task carries instead of the plan."""

    broadcast: Broadcast[ScreenPlan]
    token: str

    def plan(self) -> ScreenPlan:
        """The plan, unpickled the first time this Python worker process needs it and kept for its later tasks."""
        if self.token not in _WORKER_PLANS:
            _WORKER_PLANS[self.token] = self.broadcast.value
        return _WORKER_PLANS[self.token]


def _screen_partition(
    shipped: ShippedPlan, schema: pa.Schema, batch_rows: int, step: Step, counter: Accumulator[int] | None = None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each task runs on its partition's Arrow batches: the step on slices of `batch_rows` rows."""

    def screen_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        plan = shipped.plan()
        for gathered in _gather(batches, batch_rows):
            if counter is not None:
                counter.add(gathered.num_rows)
            yield from step(plan, pl.DataFrame(pl.from_arrow(gathered))).to_arrow().cast(schema).to_batches()

    return screen_batches


def _gather(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Arrow batches gathered into tables of about `rows` rows (the last one smaller)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


def with_file_rows(df: DataFrame) -> DataFrame:
    """The rows numbered as the single-process CLI numbers a CSV's rows (`source_row`: header on row 1), in file
    order; one pass counts each partition's rows."""
    from pyspark.sql import functions as F

    indexed = df.withColumn("_partition", F.spark_partition_id()).withColumn(
        "_position", F.monotonically_increasing_id() - F.shiftleft(F.col("_partition").cast("long"), 33)
    )
    counts: dict[int, int] = dict(indexed.groupBy("_partition").count().collect())
    offsets, running = {}, 0
    for partition in sorted(counts):
        offsets[partition] = running
        running += counts[partition]
    offset = F.create_map(*(F.lit(value) for pair in offsets.items() for value in pair)) if offsets else F.lit(None)
    numbered = indexed.withColumn(SOURCE_ROW, (offset[F.col("_partition")] + F.col("_position") + 2).cast("long"))
    return numbered.select(SOURCE_ROW, *df.columns)


def read_table(spark: SparkSession, path: str) -> DataFrame:
    """A table Spark reads from any filesystem it knows: CSV or TSV with a header line (UTF-8), Parquet, JSON, ORC."""
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.rstrip("/")[:-3]).suffix.lower()
    if suffix not in READERS:
        raise InputFileError(
            f"{path}: the Spark engine reads {', '.join(READERS)} (optionally gzipped) files and folders; "
            "export a workbook to CSV or Parquet first"
        )
    kind, separator = READERS[suffix]
    if kind != "csv":
        return spark.read.format(kind).load(path)
    # one record a line, so that Spark splits a large file between tasks
    return spark.read.csv(path, header=True, sep=separator, quote='"', escape='"', inferSchema=False, encoding="UTF-8")


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """The active Spark session (spark-submit's, a notebook's), or a new one on `master` (default local[*]).

    A local session started here runs its Python workers with this interpreter, so they import what it imports."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise UsageError(
            "the Spark engine needs PySpark and Java 17+: pip install 'xuar-screener[spark]' (or run without --engine spark)"
        ) from None

    builder = SparkSession.builder.appName("screener")
    if master:
        builder = builder.master(master)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    if not settings.spark_started_outside() and (master or "local").startswith("local"):
        settings.spark_workers_run(sys.executable)
    return builder.getOrCreate()


def screen_path(
    source: str,
    out: str,
    db_path: Path,
    *,
    config: ScreenConfig = ScreenConfig(),
    columns: dict[str, str | None] | None = None,
    parties: Sequence[str] = (),
    master: str | None = None,
) -> dict[str, int]:
    """Screen a file or folder with Spark into a Parquet dataset `out`, the run's lists and settings beside it in
    `<out stem>.sources.parquet`; the rows per tier."""
    if Path(out.rstrip("/")).suffix.lower() != ".parquet":
        raise InputFileError(f"the Spark engine writes Parquet: give --out with a .parquet name, not {out!r}")
    spark = spark_session(master)
    table = with_file_rows(read_table(spark, source))
    screener = Screener.from_db(db_path, config)
    counter = spark.sparkContext.accumulator(0)
    screened = screen_dataframe(table, parties, columns=columns, screener=screener, parties_screened=counter)
    screened.write.mode("overwrite").parquet(out)
    tiers: dict[str, int] = dict(spark.read.parquet(out).groupBy("risk_tier").count().collect())
    metadata = plan_for(table.columns, screener, parties=parties, given=columns, input_name=Path(source).name).metadata
    sources = sources_frame({**metadata, "parties_screened": counter.value}, rows=sum(tiers.values()))
    spark.createDataFrame(sources.to_pandas()).coalesce(1).write.mode("overwrite").parquet(sidecar_path(out))
    return tiers


def sidecar_path(out: str) -> str:
    """Where the sources of a Parquet output go: `report.parquet` → `report.sources.parquet`."""
    stem = out.rstrip("/")
    return stem[: -len(".parquet")] + ".sources.parquet"


def sources_frame(metadata: dict[str, Any], rows: int) -> pl.DataFrame:
    """One row per list snapshot used, each with the run facts (as the CSV report's sources file)."""
    facts = {**run_facts(metadata, rows), "engine": "spark", "parties screened": str(metadata["parties_screened"])}
    snapshots = snapshots_frame(metadata)
    return snapshots.with_columns(pl.lit(value, pl.String).alias(name.replace(" ", "_")) for name, value in facts.items())


def main() -> None:
    """`python -m screener.spark INPUT --out OUT.parquet ...` (or the file given to spark-submit)."""
    from screener.cli import main as cli_main

    sys.argv = ["screener", "screen", *sys.argv[1:], "--engine", "spark"]
    cli_main()


if __name__ == "__main__":
    # run as a file (spark-submit): the package's folder must not stand first on the path, where its modules would
    # shadow top-level ones, and the functions shipped to workers must be the package's, not this script's copies
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    from screener.spark import main as run_screen

    run_screen()
