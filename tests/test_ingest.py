"""Ingest orchestration: snapshots, conditional requests, retries, refusals that leave the store untouched, diff, CLI."""

import datetime as dt

import httpx
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import sources.fetch_policy
from screener import cli_ingest
from screener.ingest import IngestError, diff_snapshots, ingest_many, ingest_source
from screener.store import Store
from sources import cbp_wro, csl, uflpa
from sources.base import SourceFormatError
from sources.fetch_policy import RETRIES, FetchError
from tests.fixtures.sources.mock_http import FIXTURES, FakeWeb, fixture, ok, status, timeout, truncated

PAGE = fixture("uflpa_entity_list.html")
CSL = fixture("csl_consolidated.csv")


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sources.fetch_policy, "BACKOFF_SECONDS", 0.0)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "lists.duckdb") as opened:
        yield opened


def state(store: Store) -> tuple[list[tuple], int, int]:
    """Everything a refused ingest must leave as it was."""
    snapshots = store.query("SELECT snapshot_id, source, status, sha256 FROM snapshots ORDER BY snapshot_id").rows()
    return snapshots, store.scalar("SELECT count(*) FROM entities"), store.scalar("SELECT count(*) FROM names")


def ingest(store, web: FakeWeb, source=uflpa.SOURCE, **options):
    with web.client() as client:
        return ingest_source(store, source, client, **options)


def smaller_page() -> bytes:
    """The DHS page with the Ninestar row removed and one Hetian alias renamed."""
    start = PAGE.index(b"<tr><td>Ninestar")
    page = PAGE[:start] + PAGE[PAGE.index(b"</tr>", start) + 5:]
    return page.replace(b"Hollin Hair Accessories", b"Hollin Hair Accessory")


def test_first_ingest_stores_a_cited_snapshot(store):
    result = ingest(store, FakeWeb({uflpa.URL: ok(PAGE, etag='"v1"')}))
    assert (result.status, result.added, result.total) == ("updated", 10, 10)
    snapshot = store.snapshots("uflpa").row(0, named=True)
    assert (snapshot["status"], snapshot["origin"], snapshot["url"], snapshot["etag"]) == (
        "current", "ingest", uflpa.URL, '"v1"')
    assert snapshot["as_of"] == dt.date(2025, 1, 15)
    assert snapshot["sha256"] and snapshot["licence"]
    assert store.scalar("SELECT count(*) FROM names WHERE snapshot_id = ?", [result.snapshot_id]) == 29


def test_not_modified_keeps_the_snapshot_and_records_validators(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE, etag='"v1"')}))
    before = state(store)
    web = FakeWeb({uflpa.URL: ok(PAGE, etag='"v1"')})
    result = ingest(store, web)
    assert result.status == "unchanged"
    assert web.requests[0].headers["If-None-Match"] == '"v1"'
    assert state(store) == before


def test_same_bytes_without_validators_make_no_new_snapshot(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(store)
    web = FakeWeb({uflpa.URL: lambda request: httpx.Response(200, content=PAGE, headers={"ETag": '"v2"'})})
    assert ingest(store, web).status == "unchanged"
    assert state(store) == before
    assert store.snapshots("uflpa")["etag"].to_list() == ['"v2"']


def test_changed_list_adds_a_snapshot_and_keeps_history(store):
    first = ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    second = ingest(store, FakeWeb({uflpa.URL: ok(smaller_page())}))
    assert (second.added, second.removed, second.changed, second.total) == (0, 1, 1, 9)
    assert store.snapshots("uflpa")["status"].to_list() == ["current", "superseded"]
    assert store.read_lists([first.snapshot_id]).entities.height == 10
    older, newer, diff = diff_snapshots(store, "uflpa")
    assert (older, newer) == (first.snapshot_id, second.snapshot_id)
    assert diff.removed["name"].to_list() == ["Ninestar Corporation"]
    assert diff.changed.select("name", "changed_fields").rows() == [("Hetian Haolin Hair Accessories Co. Ltd.", "names")]


def test_server_errors_are_retried_then_refused(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(store)
    web = FakeWeb({uflpa.URL: status(503)})
    with pytest.raises(FetchError, match=f"failed after {RETRIES + 1} attempts: server error HTTP 503"):
        ingest(store, web, force=True)
    assert len(web.requests) == RETRIES + 1
    assert state(store) == before


def test_a_transient_error_is_retried_to_success(store):
    web = FakeWeb({uflpa.URL: [status(500), timeout(), ok(PAGE)]})
    assert ingest(store, web).status == "updated"
    assert len(web.requests) == 3


@pytest.mark.parametrize(("reply", "message"), [(timeout(), "timed out"), (truncated(PAGE), "truncated")])
def test_timeouts_and_truncated_bodies_are_refused(store, reply, message):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(store)
    with pytest.raises(FetchError, match=message):
        ingest(store, FakeWeb({uflpa.URL: reply}), force=True)
    assert state(store) == before


def test_vanished_tables_leave_the_store_untouched(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(store)
    page = PAGE.replace(b"<table", b"<div").replace(b"</table>", b"</div>")
    with pytest.raises(SourceFormatError, match="no entity tables"):
        ingest(store, FakeWeb({uflpa.URL: ok(page)}))
    assert state(store) == before


def test_renamed_csv_columns_leave_the_store_untouched(store):
    ingest(store, FakeWeb({csl.URL: ok(CSL)}), source=csl.SOURCE)
    before = state(store)
    with pytest.raises(SourceFormatError, match="lacks the columns name"):
        ingest(store, FakeWeb({csl.URL: ok(CSL.replace(b",name,", b",entity_name,", 1))}), source=csl.SOURCE)
    assert state(store) == before


def test_a_list_that_shrank_by_90_percent_is_refused_unless_forced(store):
    ingest(store, FakeWeb({csl.URL: ok(CSL)}), source=csl.SOURCE)
    before = state(store)
    shrunk = b"\n".join(CSL.splitlines()[:2]) + b"\n"
    with pytest.raises(IngestError, match=r"loses 9 of the 10 stored entities \(90%.*--force"):
        ingest(store, FakeWeb({csl.URL: ok(shrunk)}), source=csl.SOURCE)
    assert state(store) == before
    forced = ingest(store, FakeWeb({csl.URL: ok(shrunk)}), source=csl.SOURCE, force=True)
    assert (forced.status, forced.total, forced.removed) == ("updated", 1, 9)


class CrashingConnection:
    """A DuckDB connection that dies while the names of a new snapshot are being written."""

    def __init__(self, con, crash: BaseException):
        self.con = con
        self.crash = crash

    def execute(self, sql, *args):
        if sql.startswith("INSERT INTO names"):
            raise self.crash
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


def test_a_failure_inside_the_store_transaction_rolls_it_back(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(store)
    real = store.con
    store.con = CrashingConnection(real, RuntimeError("disk full"))
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(store, FakeWeb({uflpa.URL: ok(smaller_page())}))
    store.con = real
    assert state(store) == before


def test_killed_mid_ingest_leaves_the_database_file_consistent(tmp_path):
    path = tmp_path / "lists.duckdb"
    killed = Store(path)
    ingest(killed, FakeWeb({uflpa.URL: ok(PAGE)}))
    before = state(killed)
    real = killed.con
    killed.con = CrashingConnection(real, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        ingest(killed, FakeWeb({uflpa.URL: ok(smaller_page())}))
    real.close()
    with Store(path) as reopened:
        assert state(reopened) == before
        assert reopened.current_snapshots()["row_count"].to_list() == [10]


def test_one_failing_source_keeps_the_others(store):
    web = FakeWeb({uflpa.URL: ok(PAGE), csl.URL: status(500)})
    with web.client() as client:
        results = ingest_many(store, [uflpa.SOURCE, csl.SOURCE], client)
    assert [(r.source, r.status) for r in results] == [("uflpa", "updated"), ("csl", "failed")]
    assert "server error HTTP 500" in results[1].message
    assert store.current_snapshots()["source"].to_list() == ["uflpa"]


@pytest.fixture
def cli(monkeypatch):
    app = typer.Typer()
    app.command("ingest")(cli_ingest.ingest_command)
    app.command("diff")(cli_ingest.diff_command)
    web = FakeWeb({uflpa.URL: ok(PAGE), csl.URL: status(502)})
    monkeypatch.setattr(cli_ingest, "client_factory", lambda timeout: web.client())
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_ingests_a_saved_page_offline_and_cites_the_official_address(cli, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    result = cli("ingest", "uflpa", "--from-file", str(FIXTURES / "uflpa_entity_list.html"), "--db", db)
    assert result.exit_code == 0, result.output
    assert "updated" in result.output
    with Store(tmp_path / "cli.duckdb") as opened:
        assert opened.snapshots("uflpa")["url"][0].startswith("file://")
        assert set(opened.read_current().entities["source_url"]) == {uflpa.URL}


@pytest.mark.parametrize("content", [b"supplier_name,country\nAcme,CN\n", b"<html><body>Not the list</body></html>"])
def test_a_saved_file_that_is_not_the_list_is_named_in_the_error_with_what_to_do(tmp_path, content):
    saved = tmp_path / "suppliers.csv"
    saved.write_bytes(content)
    with Store(tmp_path / "lists.duckdb") as opened, pytest.raises(SourceFormatError) as refused:
        ingest_source(opened, uflpa.SOURCE, httpx.Client(), url=str(saved))
    message = str(refused.value)
    assert message.startswith(f"{saved} is not a copy of the") and f"save the list from {uflpa.URL}" in message
    assert "download" not in message and "retry" not in message and "format may have changed" not in message


def test_cli_partial_failure_exits_non_zero_and_keeps_the_good_source(cli, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    result = cli("ingest", "uflpa", "csl", "--db", db)
    assert result.exit_code == 1
    assert "csl: download of" in result.output
    with Store(tmp_path / "cli.duckdb") as opened:
        assert opened.current_snapshots()["source"].to_list() == ["uflpa"]


def test_cli_diff_lists_what_changed(cli, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    page = tmp_path / "smaller.html"
    page.write_bytes(smaller_page())
    assert cli("ingest", "uflpa", "--db", db).exit_code == 0
    assert cli("ingest", "uflpa", "--from-file", str(page), "--db", db).exit_code == 0
    result = cli("diff", "uflpa", "--db", db)
    assert result.exit_code == 0, result.output
    assert "0 added, 1 removed, 1 changed" in result.output
    assert "Ninestar Corporation" in result.output and "Hetian Haolin" in result.output


def test_cli_refuses_unknown_sources_and_url_for_several(cli, tmp_path):
    assert cli("ingest", "nonsense", "--db", str(tmp_path / "x.duckdb")).exit_code == 2
    assert cli("ingest", "uflpa", "csl", "--url", "https://mirror.example/x", "--db", str(tmp_path / "x.duckdb")).exit_code == 2


def test_the_client_identifies_itself():
    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200, content=b"ok"))
    with sources.fetch_policy.make_client(transport=transport) as client:
        sources.fetch_policy.fetch(client, "https://example.org/list.csv")
    assert seen[0].headers["User-Agent"].startswith("xuar-screener/")


def test_a_blocked_download_without_a_copy_to_fall_back_on_says_how_to_save_the_page(store):
    with pytest.raises(IngestError, match="HTTP 403.*OpenSanctions copy \\(us_dhs_uflpa\\) failed too.*--from-file"):
        ingest(store, FakeWeb({uflpa.URL: status(403)}))
    assert state(store) == ([], 0, 0)
    with pytest.raises(FetchError, match="HTTP 403.*--from-file"):
        ingest(store, FakeWeb({csl.URL: status(403)}), source=csl.SOURCE)


def os_copy(dataset: str) -> tuple[str, object]:
    from sources import opensanctions

    return opensanctions.URL.format(dataset=dataset), ok(fixture(f"opensanctions/{dataset}.ftm.json"))


def test_a_refused_download_falls_back_to_the_opensanctions_copy_and_says_so(store):
    web = FakeWeb({uflpa.URL: status(403), **dict([os_copy("us_dhs_uflpa")])})
    result = ingest(store, web)
    assert result.status == "updated" and "OpenSanctions copy (us_dhs_uflpa)" in result.message
    assert "HTTP 403" in result.message and "CC BY-NC" in result.message
    snapshot = store.current_snapshots().row(0, named=True)
    assert snapshot["source"] == "uflpa" and "OpenSanctions copy" in snapshot["title"]
    assert snapshot["licence"].startswith("CC BY-NC") and snapshot["url"].startswith("https://data.opensanctions.org/")
    entities = store.read_current().entities
    assert set(entities["source"]) == {"uflpa"} and entities["entity_id"].str.starts_with("uflpa:").all()
    ninestar = entities.filter(pl.col("name") == "Ninestar Corporation").row(0, named=True)
    assert ninestar["program"] == "UFLPA 2(d)(2)(B)(ii)" and "UFLPA" in ninestar["list_name"]
    assert len(web.hits(uflpa.URL)) == 1


def test_the_opensanctions_copy_of_cbp_orders_keeps_their_type_and_status(store):
    web = FakeWeb({cbp_wro.URL: status(403), **dict([os_copy("us_cbp_forced_labor")])})
    assert ingest(store, web, source=cbp_wro.SOURCE).status == "updated"
    entities = store.read_current().entities
    orders = {row["name"]: (row["program"], row["status"], row["entity_type"]) for row in entities.iter_rows(named=True)}
    assert orders == {
        "Harbour Lantern Textiles Ltd": ("WRO", "active", "organization"),
        "Pelita Gloves Sdn Bhd": ("Finding", "inactive", "organization"),
        "Morning Tide 7": ("WRO", "active", "vessel"),
    }


def test_cli_reads_chosen_opensanctions_datasets(monkeypatch, tmp_path):
    from sources import opensanctions

    urls = {name: opensanctions.URL.format(dataset=name) for name in ("us_dhs_uflpa", "shu_uyghur_companies")}
    web = FakeWeb({url: ok(fixture(f"opensanctions/{name}.ftm.json")) for name, url in urls.items()})
    monkeypatch.setattr(cli_ingest, "client_factory", lambda timeout: web.client())
    app = typer.Typer()
    app.command("ingest")(cli_ingest.ingest_command)
    app.command("diff")(cli_ingest.diff_command)
    db = tmp_path / "os.duckdb"
    result = CliRunner().invoke(app, ["ingest", "opensanctions", "--dataset", "us_dhs_uflpa",
                                      "--dataset", "shu_uyghur_companies", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert sorted(str(request.url) for request in web.requests) == sorted(urls.values())
    with Store(db) as opened:
        snapshot = opened.snapshots("opensanctions").row(0, named=True)
        assert "CC BY-NC 4.0" in snapshot["licence"]
        kinds = opened.read_current().entities.group_by("list_kind").len().sort("list_kind").rows()
    assert kinds == [("legal", 3), ("research", 3)]


def test_a_listing_renamed_on_the_list_keeps_its_id_and_diff_says_renamed(store):
    ingest(store, FakeWeb({uflpa.URL: ok(PAGE)}))
    old_id = store.read_current().entities.filter(pl.col("name") == "Changji Esquel Textile Co. Ltd.")["entity_id"][0]
    renamed = PAGE.replace(
        b"Changji Esquel Textile Co. Ltd. (and one alias: Changji Yida Textile)",
        b"Changji Brightloom Textile Co., Ltd. (formerly known as Changji Esquel Textile Co. Ltd.)",
    )
    result = ingest(store, FakeWeb({uflpa.URL: ok(renamed)}))
    assert (result.added, result.removed, result.changed) == (0, 0, 1)
    current = store.read_current().entities
    assert current.filter(pl.col("entity_id") == old_id)["name"].to_list() == ["Changji Brightloom Textile Co., Ltd."]
    _, _, diff = diff_snapshots(store, "uflpa")
    assert "renamed (was 'Changji Esquel Textile Co. Ltd.')" in diff.changed["changed_fields"][0]
