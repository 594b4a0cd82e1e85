"""The record of an entity check: what was searched, when, how, what was found, sealed with a content hash."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

import screener
from screener.reports.check_pdf import ATTACHMENT, FONT_FILE
from screener.reports.check_record import HASH_FIELD, check_record, is_intact, record_bytes, record_html
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


def pdf_text(content: bytes) -> tuple[str, dict[str, bytes]]:
    """The PDF's text, whitespace collapsed, and its attached files."""
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return text, {name: data[0] for name, data in reader.attachments.items()}


@pytest.mark.parametrize("name", [CLEAN_NAME, LISTED_NAME])
def test_the_pdf_record_prints_name_lists_snapshots_and_hash_and_carries_the_json(checker, name):
    record = check_record(checker.check(name))
    text, attachments = pdf_text(record_bytes(record, "pdf"))
    assert name in text and record[HASH_FIELD] in text and record["verdict"]["risk_tier"].upper() in text
    for snapshot in record["lists_searched"]:
        assert snapshot["title"] in text and snapshot["sha256"] in text and f"snapshot #{snapshot['snapshot_id']}" in text
    attached = json.loads(attachments[ATTACHMENT])
    assert attached == json.loads(json.dumps(record, default=str)) and is_intact(attached)


def test_the_pdf_record_links_every_source_and_embeds_its_own_font(checker):
    record = check_record(checker.check(LISTED_NAME))
    reader = PdfReader(io.BytesIO(record_bytes(record, "pdf")))
    links = {annotation.get_object()["/A"]["/URI"] for page in reader.pages
             for annotation in page.get("/Annots") or [] if "/A" in annotation.get_object()}
    cited = {url for candidate in record["candidates"] for url in candidate["source_url"].split(" | ")}
    assert cited and cited <= links
    fonts = {font.get_object()["/BaseFont"] for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert all("NotoSansCJK" in font for font in fonts)
    assert FONT_FILE.is_relative_to(Path(screener.__file__).parent)


def test_linkify_links_web_addresses_and_escapes_everything_else():
    html = str(linkify("see https://www.dhs.gov/uflpa-entity-list. <script>x</script> javascript:alert(1)"))
    assert '<a href="https://www.dhs.gov/uflpa-entity-list">https://www.dhs.gov/uflpa-entity-list</a>.' in html
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html


@pytest.mark.parametrize("suffix", ["json", "html", "pdf"])
def test_check_says_what_it_searched_and_saves_the_record(lists_db, tmp_path, suffix):
    path = tmp_path / f"check.{suffix}"
    done = run_cli("check", CLEAN_NAME, "--record", str(path), db=lists_db)
    assert done.returncode == 0, done.stderr
    assert "Searched at" in done.stdout and "match threshold" in done.stdout and "Lists used: " in done.stdout
    if suffix == "json":
        record = json.loads(path.read_text(encoding="utf-8"))
        assert is_intact(record) and record["query"]["name"] == CLEAN_NAME
        assert record[HASH_FIELD] in done.stderr
    elif suffix == "pdf":
        text, attachments = pdf_text(path.read_bytes())
        record = json.loads(attachments[ATTACHMENT])
        assert CLEAN_NAME in text and record[HASH_FIELD] in text and record[HASH_FIELD] in done.stderr
    else:
        text = path.read_text(encoding="utf-8")
        assert "Entity check record" in text and "No listed name reached the review threshold" in text


def test_a_record_file_of_another_kind_is_refused_before_checking(lists_db, tmp_path):
    done = run_cli("check", CLEAN_NAME, "--record", str(tmp_path / "check.docx"), db=lists_db)
    assert done.returncode == 2 and "name it .pdf, .html or .json" in done.stderr
    assert not (tmp_path / "check.docx").exists()
