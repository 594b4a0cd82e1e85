"""Screening on Apache Spark in local mode: the same rows, tiers, scores and reasons as the single-process CLI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import polars as pl
import pytest

if importlib.util.find_spec("pyspark") is None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):  # CI installs the extra: missing is a failure
        raise ImportError("pyspark is not installed: pip install '.[test,spark]'")
    pytest.skip("the Spark tests need the [spark] extra and Java: pip install '.[spark]'", allow_module_level=True)

from pyspark import cloudpickle
from pyspark.sql import functions as F

import screener.spark as spark_module
from screener.reports.tables import report_rows
from screener.rules import SUPPLIER_FIELDS
from screener.screening import Screener, party_entries
from screener.spark import (
    ScreenPlan,
    ShippedPlan,
    _screen_partition,
    plan_for,
    read_table,
    screen_dataframe,
    spark_session,
)
from tests.conftest import EXAMPLE_SUPPLIERS

SMALL_SPLITS = {"spark.sql.files.maxPartitionBytes": "4096", "spark.sql.files.openCostInBytes": "0"}
TEST_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", **SMALL_SPLITS}


def shipments(rows: int) -> pl.DataFrame:
    """Shipment rows whose parties repeat: the example suppliers as manufacturers and shippers, a few consignees."""
    suppliers = pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False)
    count = suppliers.height
    consignees = ["Acme Imports LLC", "Global Retail, Inc.", "北美贸易有限公司"]
    picks = [(index * 7) % count for index in range(rows)]
    return pl.DataFrame(
        {
            "Bill of Lading": [f"BOL{index:05d}" for index in range(rows)],
            "Shipper": [suppliers["supplier_name"][(pick + 3) % count] for pick in picks],
            "Shipper Country": [suppliers["country"][(pick + 3) % count] for pick in picks],
            "Consignee": [consignees[index % len(consignees)] for index in range(rows)],
            "Manufacturer": [None if index % 11 == 0 else suppliers["supplier_name"][pick] for index, pick in enumerate(picks)],
            "Manufacturer Address": [suppliers["address"][pick] for pick in picks],
            "Country of Origin": [suppliers["country"][pick] for pick in picks],
            "Goods Description": [suppliers["product"][pick] for pick in picks],
            "HS Code": [suppliers["hs_code"][pick] for pick in picks],
        }
    )


def screener_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    command = [sys.executable, "-m", "screener", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900)


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", TEST_CONF)
    yield session
    session.stop()


def test_spark_output_is_row_for_row_the_single_process_output(spark, lists_db, tmp_path):
    source = tmp_path / "shipments.csv"
    shipments(240).write_csv(source)
    local = screener_cli("screen", str(source), "--out", str(tmp_path / "local.csv"), "--db", str(lists_db))
    assert local.returncode == 0, local.stderr
    # small file splits: the 240 rows reach the workers as several partitions, numbered across them
    splits = " ".join(f"--conf {key}={value}" for key, value in TEST_CONF.items())
    on_spark = screener_cli(
        "screen", str(source), "--engine", "spark", "--spark-master", "local[2]", "--out", str(tmp_path / "spark.parquet"),
        "--db", str(lists_db), env={"PYSPARK_SUBMIT_ARGS": f"{splits} pyspark-shell"},
    )
    assert on_spark.returncode == 0, on_spark.stderr
    assert "Wrote 240 rows" in on_spark.stderr
    expected = pl.read_csv(tmp_path / "local.csv", infer_schema=False)
    written = sorted((tmp_path / "spark.parquet").glob("*.parquet"))
    assert read_table(spark, str(source)).rdd.getNumPartitions() > 1, "the input is read as several partitions"
    actual = pl.read_parquet(written).sort("source_row")
    assert actual.columns == expected.columns
    assert actual.height == expected.height == 240
    as_text = actual.select(pl.all().cast(pl.String))
    as_text = as_text.with_columns(pl.col("risk_score", "match_score").cast(pl.Float64).cast(pl.String))
    expected = expected.with_columns(pl.col("risk_score", "match_score").cast(pl.Float64).cast(pl.String))
    for column in expected.columns:
        assert as_text[column].to_list() == expected[column].to_list(), column
    assert set(expected["risk_tier"]) >= {"critical", "high", "clear"}
    sources = pl.read_parquet(sorted((tmp_path / "spark.sources.parquet").glob("*.parquet")))
    assert set(sources["source"]) == {"uflpa", "cbp_wro", "sanctions"}
    assert set(sources["rows_screened"]) == {"240"} and set(sources["engine"]) == {"spark"}
    assert 0 < int(sources["parties_screened"][0]) < 240, "each distinct party screened once"


def test_screen_dataframe_screens_a_supplier_list_in_a_notebook(spark, embedded_db):
    suppliers = spark.read.csv(str(EXAMPLE_SUPPLIERS), header=True).repartition(3)
    screened = screen_dataframe(suppliers, db_path=embedded_db)
    rows = pl.from_arrow(screened.toArrow()).sort("supplier_id")
    screener = Screener.from_db(embedded_db)
    frame = pl.read_csv(EXAMPLE_SUPPLIERS, infer_schema=False)
    expected = report_rows(screener.screen(frame, plan_for(suppliers.columns, screener).mapping)).sort("supplier_id")
    assert "source_row" not in rows.columns, "a DataFrame has no file rows to number"
    assert rows["risk_tier"].to_list() == expected["risk_tier"].to_list()
    assert rows["reasons"].to_list() == expected["reasons"].to_list()


def test_a_party_repeated_across_partitions_is_screened_once(spark, embedded_db):
    frame = shipments(240)
    rows = spark.createDataFrame(frame.to_pandas()).repartition(6)
    screener = Screener.from_db(embedded_db)
    mapping = plan_for(rows.columns, screener).mapping
    partitions = pl.from_arrow(rows.select("Bill of Lading", F.spark_partition_id().alias("partition")).toArrow())
    placed = frame.join(partitions, on="Bill of Lading", maintain_order="left")
    entries = party_entries(placed, mapping)
    in_partitions = entries.select(placed["partition"].gather(entries["row"]), *SUPPLIER_FIELDS).unique().height
    counter = spark.sparkContext.accumulator(0)
    screened = pl.from_arrow(screen_dataframe(rows, screener=screener, parties_screened=counter).toArrow())
    assert counter.value == entries.select(SUPPLIER_FIELDS).unique().height < in_partitions, "once in the whole DataFrame"
    expected = report_rows(screener.screen(frame, mapping)).drop("source_row")
    assert screened.columns == expected.columns
    assert screened.sort("Bill of Lading").equals(expected.sort("Bill of Lading"))


def test_each_task_carries_the_broadcast_handle_not_the_lists(embedded_db, spark):
    plan = plan_for(["supplier_name", "country"], Screener.from_db(embedded_db))
    shipped = ShippedPlan(spark.sparkContext.broadcast(plan), "token")
    task = cloudpickle.dumps(_screen_partition(shipped, None, 1_000, ScreenPlan.report))
    assert len(cloudpickle.dumps(plan)) > 500_000 > 20 * len(task)


def test_each_python_worker_unpickles_the_plan_once_for_all_its_tasks(embedded_db, spark):
    plan = plan_for(["supplier_name"], Screener.from_db(embedded_db))
    shipped = ShippedPlan(spark.sparkContext.broadcast(plan), "once")

    def plans_seen(batches):
        import os as worker_os

        import pyarrow

        for batch in batches:
            yield pyarrow.RecordBatch.from_pydict(
                {"pid": [worker_os.getpid()] * batch.num_rows, "plan": [id(shipped.plan())] * batch.num_rows}
            )

    tasks = spark.range(0, 64, numPartitions=16)
    seen = pl.from_arrow(tasks.mapInArrow(plans_seen, "pid long, plan long").toArrow())
    per_worker = seen.group_by("pid").agg(pl.col("plan").n_unique())
    assert seen.height == 64 and per_worker.height < 16
    assert per_worker["plan"].to_list() == [1] * per_worker.height


@pytest.mark.parametrize("entry", [["-m", "screener.spark"], [spark_module.__file__]], ids=["-m", "spark-submit file"])
def test_the_spark_entry_points_are_the_screen_command_on_spark(entry):
    done = subprocess.run(
        [sys.executable, *entry, "--help"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "--spark-master" in done.stdout and "--party-col" in done.stdout


def test_the_spark_engine_refuses_a_report_other_than_parquet_in_one_line(lists_db, tmp_path):
    done = screener_cli("screen", str(EXAMPLE_SUPPLIERS), "--engine", "spark", "--out", str(tmp_path / "r.csv"),
                        "--db", str(lists_db))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "writes Parquet" in lines[0]
