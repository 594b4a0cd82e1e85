"""Every ingestor against every failure a publisher or the network can produce: the stored list is kept.

Each case first stores a good snapshot of the source, then serves one fault on the source's data file and
checks that (a) the ingest is refused with a one-line error naming the cause, (b) the CLI exits non-zero with
one `error: <source>: <cause>` line, and (c) the snapshots, counts and entity names are exactly as before.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest

import sources.fetch_policy
from screener import cli, cli_ingest
from screener.ingest import IngestError, ingest_many, ingest_source
from screener.store import Store
from sources import cbp_wro, csl, opensanctions, uflpa
from sources.base import Source, SourceFormatError, decode_text
from sources.fetch_policy import FetchError
from sources.registry import SOURCES
from tests.fixtures.sources.mock_http import FakeWeb, Reply, fixture, ok

CBP_CSV_URL = "https://www.cbp.gov/sites/default/files/2025-01/withhold-release-orders-findings-fy25-jan.csv"
OS_DATASETS = ("us_dhs_uflpa", "shu_uyghur_companies")
OS_URLS = {dataset: opensanctions.URL.format(dataset=dataset) for dataset in OS_DATASETS}
GARBAGE = bytes(range(256)) * 64
BLOCK_PAGE = b"<!DOCTYPE html><html><head><title>Access Denied</title></head><body>Reference #18.2f</body></html>\n"


@dataclass(frozen=True)
class Publisher:
    """A source as its publisher serves it: the good files, the file faults hit, how to break its format."""

    source: Source
    files: dict[str, bytes]
    data_url: str
    cli_args: tuple[str, ...]
    changed_structure: Callable[[bytes], bytes]
    empty: Callable[[bytes], bytes]

    @property
    def name(self) -> str:
        return self.source.name


def _html_without_rows(page: bytes) -> bytes:
    return re.sub(rb"<tr><td>.*?</tr>", b"", page, flags=re.DOTALL)


def _header_only(csv: bytes) -> bytes:
    return csv.splitlines(keepends=True)[0]


PUBLISHERS = {
    "uflpa": Publisher(
        uflpa.SOURCE, {uflpa.URL: fixture("uflpa_entity_list.html")}, uflpa.URL, ("uflpa",),
        changed_structure=lambda page: page.replace(b"Name of Entity", b"Entity").replace(b"Entity Name", b"Entity"),
        empty=_html_without_rows,
    ),
    "cbp_wro": Publisher(
        cbp_wro.SOURCE,
        {cbp_wro.URL: fixture("cbp_wro_document.html"), CBP_CSV_URL: fixture("cbp_wro_findings.csv")},
        CBP_CSV_URL, ("cbp_wro",),
        changed_structure=lambda csv: csv.replace(b",Entity,", b",Company,", 1),
        empty=_header_only,
    ),
    "csl": Publisher(
        csl.SOURCE, {csl.URL: fixture("csl_consolidated.csv")}, csl.URL, ("csl",),
        changed_structure=lambda csv: csv.replace(b",name,", b",entity_name,", 1),
        empty=_header_only,
    ),
    "opensanctions": Publisher(
        opensanctions.make_source(OS_DATASETS),
        {OS_URLS[dataset]: fixture(f"opensanctions/{dataset}.ftm.json") for dataset in OS_DATASETS},
        OS_URLS["shu_uyghur_companies"],
        ("opensanctions", *(option for dataset in OS_DATASETS for option in ("--dataset", dataset))),
        changed_structure=lambda lines: lines.replace(b'"properties"', b'"props"'),
        empty=lambda lines: b"",
    ),
}


def test_the_matrix_covers_every_registered_source():
    assert set(PUBLISHERS) == set(SOURCES)


# ---------------------------------------------------------------- faults: publisher → the data file's reply


def _raising(error: type[httpx.TransportError], text: str) -> Callable[[Publisher], Reply]:
    def fault(_: Publisher) -> Reply:
        def reply(request: httpx.Request) -> httpx.Response:
            raise error(text, request=request)

        return reply

    return fault


def _status(code: int) -> Callable[[Publisher], Reply]:
    return lambda _: lambda request: httpx.Response(code, text=f"HTTP {code}")


def _served(body: Callable[[Publisher], bytes]) -> Callable[[Publisher], Reply]:
    return lambda publisher: ok(body(publisher), content_type="application/octet-stream")


def _good(publisher: Publisher) -> bytes:
    return publisher.files[publisher.data_url]


def _short_body(publisher: Publisher) -> Reply:
    """Content-Length announces the whole file, the connection delivers 60% of it."""
    body = _good(publisher)
    return lambda request: httpx.Response(
        200, content=body[: len(body) * 3 // 5], headers={"Content-Length": str(len(body))}
    )


def _utf16(publisher: Publisher) -> bytes:
    """The same text re-encoded as UTF-16 with a byte-order mark (Excel's "Unicode text")."""
    return decode_text(_good(publisher)).encode("utf-16")


# fault → (reply for the data file, what the one-line message must say, per source when it differs)
FAULTS: dict[str, tuple[Callable[[Publisher], Reply], dict[str, str]]] = {
    "timeout": (_raising(httpx.ReadTimeout, "timed out"), {"*": r"failed after \d+ attempts: timed out"}),
    "connection_reset": (
        _raising(httpx.ReadError, "[Errno 104] Connection reset by peer"), {"*": r"connection failed \(ReadError"}),
    "server_disconnected": (
        _raising(httpx.RemoteProtocolError, "Server disconnected without sending a response."),
        {"*": r"connection failed \(RemoteProtocolError"}),
    "http_403": (_status(403), {"*": r"refused: HTTP 403.*--from-file"}),
    "http_500": (_status(500), {"*": r"server error HTTP 500"}),
    "truncated": (_short_body, {"*": r"truncated \(\d+ of \d+ bytes\)"}),
    "damaged_gzip": (
        lambda publisher: lambda request: httpx.Response(
            200, content=_good(publisher)[:200], headers={"Content-Encoding": "gzip"}),
        {"*": r"compressed body could not be decoded"}),
    "cut_mid_file": (
        _served(lambda publisher: _good(publisher)[: len(_good(publisher)) * 2 // 5]),
        {"uflpa": r"ends before </html>, so it is incomplete", "cbp_wro": r"loses \d+ of the \d+ stored entities",
         "csl": r"not a readable CSV", "opensanctions": r"not FollowTheMoney JSON lines"}),
    "changed_structure": (
        _served(lambda publisher: publisher.changed_structure(_good(publisher))),
        {"uflpa": r"no entity tables", "cbp_wro": r"lacks the columns Entity", "csl": r"lacks the columns name",
         "opensanctions": r"shu_uyghur_companies.*no named entities"}),
    "empty_list": (
        _served(lambda publisher: publisher.empty(_good(publisher))),
        {"uflpa": r"have no rows", "cbp_wro": r"has no entities", "csl": r"no named entries",
         "opensanctions": r"shu_uyghur_companies.*no named entities"}),
    "block_page_with_200": (
        _served(lambda _: BLOCK_PAGE),
        {"uflpa": r"no entity tables", "cbp_wro": r"lacks the columns Entity", "csl": r"lacks the columns source",
         "opensanctions": r"not FollowTheMoney JSON lines"}),
    "utf16": (_served(_utf16), {"*": r"is UTF-16 or UTF-32 text, not the UTF-8"}),
    "garbage_bytes": (
        _served(lambda _: GARBAGE),
        {"*": r"is binary data .*not UTF-8 text"}),
}
MATRIX = [(source, fault) for source in PUBLISHERS for fault in FAULTS]


def expected_cause(source: str, fault: str) -> str:
    causes = FAULTS[fault][1]
    return causes.get(source, causes.get("*", ""))


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sources.fetch_policy, "BACKOFF_SECONDS", 0.0)


def good_web(publisher: Publisher) -> FakeWeb:
    return FakeWeb({url: ok(body) for url, body in publisher.files.items()})


def faulty_web(publisher: Publisher, fault: str) -> FakeWeb:
    web = good_web(publisher)
    web.routes[publisher.data_url] = FAULTS[fault][0](publisher)
    return web


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> dict[str, Path]:
    """One database per source holding a good first snapshot of it (copied for each test)."""
    paths = {}
    for name, publisher in PUBLISHERS.items():
        path = tmp_path_factory.mktemp(name) / "lists.duckdb"
        with Store(path) as store, good_web(publisher).client() as client:
            assert ingest_source(store, publisher.source, client).status == "updated"
        paths[name] = path
    return paths


@pytest.fixture
def db_of(stored, tmp_path) -> Callable[[str], Path]:
    def copy(source: str) -> Path:
        path = tmp_path / f"{source}.duckdb"
        shutil.copyfile(stored[source], path)
        return path

    return copy


def state(path: Path) -> tuple[list[tuple], list[tuple], list[str], list[str]]:
    """Everything a refused ingest must leave as it was: snapshots, counts, entity and name texts."""
    with Store(path) as store:
        snapshots = store.query(
            "SELECT snapshot_id, source, status, sha256, row_count, name_count, etag, last_modified "
            "FROM snapshots ORDER BY snapshot_id"
        ).rows()
        counts = store.query(
            "SELECT (SELECT count(*) FROM entities), (SELECT count(*) FROM names), (SELECT count(*) FROM snapshots)"
        ).rows()
        lists = store.read_current()
    return snapshots, counts, sorted(lists.entities["name"].to_list()), sorted(lists.names["name"].to_list())


def assert_one_line(message: str) -> None:
    assert message.strip() and "\n" not in message and "\r" not in message
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", message), f"control characters in {message!r}"


# ---------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("source", "fault"), MATRIX)
def test_a_fault_is_refused_and_the_stored_list_kept(db_of, source, fault):
    publisher = PUBLISHERS[source]
    path = db_of(source)
    before = state(path)
    with Store(path) as store, faulty_web(publisher, fault).client() as client, pytest.raises(Exception) as raised:
        ingest_source(store, publisher.source, client)
    assert isinstance(raised.value, FetchError | SourceFormatError | IngestError), type(raised.value)
    message = str(raised.value)
    assert_one_line(message)
    assert re.search(expected_cause(source, fault), message), message
    assert state(path) == before


@pytest.mark.parametrize(("source", "fault"), MATRIX)
def test_a_fault_is_reported_by_source_among_several(db_of, source, fault):
    publisher = PUBLISHERS[source]
    path = db_of(source)
    before = state(path)
    with Store(path) as store, faulty_web(publisher, fault).client() as client:
        [result] = ingest_many(store, [publisher.source], client)
    assert result.status == "failed"
    assert re.search(expected_cause(source, fault), result.message), result.message
    assert state(path) == before


@pytest.mark.parametrize(("source", "fault"), MATRIX)
def test_the_cli_exits_2_with_one_line_naming_source_and_cause(db_of, monkeypatch, capsys, source, fault):
    publisher = PUBLISHERS[source]
    path = db_of(source)
    before = state(path)
    monkeypatch.setattr(cli_ingest, "client_factory", lambda timeout: faulty_web(publisher, fault).client())
    monkeypatch.setattr(sys, "argv", ["screener", "ingest", *publisher.cli_args, "--db", str(path)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {source}: ")
    assert re.search(expected_cause(source, fault), errors[0]), errors[0]
    assert state(path) == before


def test_partial_failure_exits_1_keeps_the_good_source_and_names_the_failing_one(db_of, monkeypatch, capsys):
    path = db_of("csl")
    web = faulty_web(PUBLISHERS["csl"], "http_403")
    web.routes.update(good_web(PUBLISHERS["uflpa"]).routes)
    csl_before = state(path)[2]
    monkeypatch.setattr(cli_ingest, "client_factory", lambda timeout: web.client())
    monkeypatch.setattr(sys, "argv", ["screener", "ingest", "uflpa", "csl", "--db", str(path)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: csl: download of ") and "HTTP 403" in errors[0]
    with Store(path) as store:
        current = store.read_current().entities
    assert sorted(current.filter(pl.col("source") == "csl")["name"].to_list()) == csl_before
    assert current.filter(pl.col("source") == "uflpa").height == 10


def test_a_changed_cbp_page_without_the_csv_link_is_refused(db_of):
    publisher = PUBLISHERS["cbp_wro"]
    path = db_of("cbp_wro")
    before = state(path)
    web = good_web(publisher)
    web.routes[cbp_wro.URL] = ok(b"<!doctype html><html><body><p>Page moved.</p></body></html>")
    with Store(path) as store, web.client() as client, pytest.raises(Exception, match="no link to the WRO") as raised:
        ingest_source(store, publisher.source, client)
    assert_one_line(str(raised.value))
    assert state(path) == before


@pytest.mark.parametrize("fault", ["timeout", "connection_reset", "server_disconnected", "http_403", "http_500",
                                   "truncated", "damaged_gzip", "utf16", "block_page_with_200"])
def test_a_fault_on_the_cbp_dataset_page_is_refused(db_of, fault):
    """CBP's CSV is reached through its dataset page: the page failing keeps the stored list too."""
    publisher = dataclasses.replace(PUBLISHERS["cbp_wro"], data_url=cbp_wro.URL)
    path = db_of("cbp_wro")
    before = state(path)
    with Store(path) as store, faulty_web(publisher, fault).client() as client:
        [result] = ingest_many(store, [publisher.source], client)
    assert result.status == "failed"
    assert_one_line(result.message)
    expected = FAULTS[fault][1].get("*", "no link to the WRO/Findings CSV")
    assert re.search(expected, result.message), result.message
    assert state(path) == before
