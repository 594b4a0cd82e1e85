"""The record of an entity check: what was searched, when, how, what was found, sealed with a content hash."""

from __future__ import annotations

import json

import pytest

from screener.reports.check_record import HASH_FIELD, check_record, is_intact, record_html
from screener.reports.html_report import linkify
from screener.screening import Screener
from tests.test_cli import screener as run_cli

CLEAN_NAME = "Nordic Timber AB"
LISTED_NAME = "合盛硅业股份有限公司"


@pytest.fixture(scope="module")
def checker(embedded_db) -> Screener:
    return Screener.from_db(embedded_db)


def test_a_clean_check_records_every_list_snapshot_threshold_and_the_time(checker):
    record = check_record(checker.check(CLEAN_NAME, country="SE"))
    assert record["verdict"]["risk_tier"] == "clear" and record["candidates"] == []
    assert record["query"] == {"name": CLEAN_NAME, "country": "SE", "address": None}
    searched = {snapshot["source"]: snapshot for snapshot in record["lists_searched"]}
    assert set(searched) >= {"uflpa", "cbp_wro", "sanctions"}
    assert all(snapshot["snapshot_id"] and len(snapshot["sha256"]) == 64 for snapshot in searched.values())
    assert record["thresholds"] == {"match": checker.config.match.match_threshold,
                                    "review": checker.config.match.review_threshold}
    assert record["checked_at"].endswith("+00:00") and record["rules_version"]
    assert is_intact(record)


def test_any_change_to_the_record_breaks_its_hash(checker):
    record = check_record(checker.check(LISTED_NAME))
    assert record["verdict"]["match_list"] == "UFLPA Entity List" and is_intact(record)
    tampered = json.loads(json.dumps(record))
    tampered["verdict"]["risk_tier"] = "clear"
    assert not is_intact(tampered)


def test_the_printable_record_names_lists_hash_and_links_sources(checker):
    record = check_record(checker.check(LISTED_NAME))
    page = record_html(record)
    assert record[HASH_FIELD] in page and LISTED_NAME in page
    assert all(snapshot["sha256"] in page for snapshot in record["lists_searched"])
    assert '<a href="https://' in page and "Noto Sans CJK" in page


def test_linkify_links_web_addresses_and_escapes_everything_else():
    html = str(linkify("see https://www.dhs.gov/uflpa-entity-list. <script>x</script> javascript:alert(1)"))
    assert '<a href="https://www.dhs.gov/uflpa-entity-list">https://www.dhs.gov/uflpa-entity-list</a>.' in html
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html


@pytest.mark.parametrize("suffix", ["json", "html"])
def test_check_says_what_it_searched_and_saves_the_record(lists_db, tmp_path, suffix):
    path = tmp_path / f"check.{suffix}"
    done = run_cli("check", CLEAN_NAME, "--record", str(path), db=lists_db)
    assert done.returncode == 0, done.stderr
    assert "Searched at" in done.stdout and "match threshold" in done.stdout and "Lists used: " in done.stdout
    text = path.read_text(encoding="utf-8")
    if suffix == "json":
        record = json.loads(text)
        assert is_intact(record) and record["query"]["name"] == CLEAN_NAME
        assert record[HASH_FIELD] in done.stderr
    else:
        assert "Entity check record" in text and "No listed name reached the review threshold" in text


def test_a_record_file_of_another_kind_is_refused_before_checking(lists_db, tmp_path):
    done = run_cli("check", CLEAN_NAME, "--record", str(tmp_path / "check.pdf"), db=lists_db)
    assert done.returncode == 2 and "name it .json or .html" in done.stderr
    assert not (tmp_path / "check.pdf").exists()
