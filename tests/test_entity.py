"""The profile of a listed entity: names in every script, addresses, listing, status across snapshots, citations."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from screener.entity import EntityError, entity_profile
from screener.store import SnapshotMeta, Store
from tests.conftest import REPO
from tests.test_cli import screener as run_cli


def listed_with_chinese_name(db) -> str:
    """A current UFLPA entity that has a name in Chinese script (chosen from the data, not by name)."""
    with Store(db) as store:
        lists = store.read_current()
    chinese = lists.names.filter((pl.col("lang") == "zh") & pl.col("entity_id").str.starts_with("uflpa:"))
    return chinese["entity_id"].sort()[0]


def test_a_profile_has_names_in_every_script_the_listing_and_its_citation(embedded_db):
    entity_id = listed_with_chinese_name(embedded_db)
    profile = entity_profile(embedded_db, entity_id)
    assert profile.listing["entity_id"] == entity_id and profile.listing["list_name"] == "UFLPA Entity List"
    assert profile.listing["program"] and profile.listing["start_date"]
    assert {"Chinese", "Latin"} <= set(profile.names["script"]) and profile.names["kind"][0] == "primary"
    assert profile.urls and all(url.startswith("https://") for url in profile.urls)
    assert profile.history.height >= 1 and profile.history["snapshot_status"][0] == "current"


def test_the_status_history_follows_the_entity_across_snapshots(lists_db):
    entity_id = listed_with_chinese_name(lists_db)
    with Store(lists_db) as store:
        current = store.read_current()
        source = entity_id.split(":")[0]
        entities = current.entities.filter(pl.col("source") == source).drop("snapshot_id").with_columns(
            status=pl.when(pl.col("entity_id") == entity_id).then(pl.lit("revoked")).otherwise(pl.col("status")),
            end_date=pl.when(pl.col("entity_id") == entity_id).then(pl.lit(dt.date(2026, 11, 30)))
            .otherwise(pl.col("end_date")),
        )
        names = current.names.filter(pl.col("entity_id").is_in(entities["entity_id"].implode()))
        store.add_snapshot(SnapshotMeta(source, "test snapshot", dt.date(2026, 11, 30), "https://example.org", "0" * 64,
                                        "ingest"), entities, names.select("entity_id", "name", "kind", "lang"))
    profile = entity_profile(lists_db, entity_id)
    assert profile.listing["status"] == "revoked" and profile.listing["end_date"] == dt.date(2026, 11, 30)
    assert profile.history["status"].to_list()[:2] == ["revoked", "active"]
    assert profile.history["snapshot_status"].to_list()[:2] == ["current", "superseded"]


def test_an_unknown_id_says_what_ids_look_like(embedded_db):
    with pytest.raises(EntityError, match="ids look like 'uflpa:"):
        entity_profile(embedded_db, "uflpa:000000000000")


def test_screener_entity_prints_the_profile_or_json(lists_db):
    entity_id = listed_with_chinese_name(lists_db)
    profile = entity_profile(lists_db, entity_id)
    done = run_cli("entity", entity_id, db=lists_db)
    assert done.returncode == 0, done.stderr
    chinese = profile.names.filter(pl.col("script") == "Chinese")["name"][0]
    assert chinese in done.stdout and "Status in each stored snapshot" in done.stdout
    as_json = json.loads(run_cli("entity", entity_id, "--json", db=lists_db).stdout)
    assert as_json["listing"]["entity_id"] == entity_id and as_json["names"]
    missing = run_cli("entity", "nope", db=lists_db)
    assert missing.returncode == 2 and "ids look like" in missing.stderr


def test_the_entity_page_opens_from_its_address(app_env):
    entity_id = listed_with_chinese_name(app_env)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["id"] = entity_id
    at.switch_page("app_pages/entity.py").run()
    assert not at.exception and not at.error
    profile = entity_profile(app_env, entity_id)
    assert at.header[0].value.replace("\\", "") == profile.listing["name"]
    names = at.table[0].value
    assert set(profile.names["name"]) <= set(names.index)
