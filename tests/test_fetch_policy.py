"""The ingestors reach only HTTPS addresses of their configured sites, with certificate checks on."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import sys
import threading

import httpx
import pytest

import sources.fetch_policy
from screener import cli, cli_ingest
from screener.ingest import ingest_source
from screener.store import Store
from sources import cbp_wro, uflpa
from sources.base import Validators
from sources.fetch_policy import MAX_REDIRECTS, FetchError, fetch, make_client, site_of
from sources.registry import SOURCES
from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok

PAGE = fixture("uflpa_entity_list.html")
CBP_CSV = "https://www.cbp.gov/sites/default/files/2025-01/withhold-release-orders-findings-fy25-jan.csv"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sources.fetch_policy, "BACKOFF_SECONDS", 0.0)


def redirect(location: str, code: int = 302):
    return lambda request: httpx.Response(code, headers={"Location": location})


def test_every_configured_source_address_is_https():
    for source in SOURCES.values():
        assert source.url.startswith("https://"), source.name


@pytest.mark.parametrize("url", ["http://www.dhs.gov/uflpa-entity-list", "HTTP://data.trade.gov/x.csv"])
def test_a_clear_text_address_is_refused_before_any_request(url):
    web = FakeWeb({url: ok(PAGE)})
    with pytest.raises(FetchError, match=r"^refusing to download .*only https:// addresses") as raised:
        fetch(web.client(), url)
    assert web.requests == []
    assert "\n" not in str(raised.value)


def test_a_redirect_within_the_site_is_followed():
    web = FakeWeb({
        "https://cbp.gov/csv": redirect("https://www.cbp.gov/csv", 301),
        "https://www.cbp.gov/csv": redirect("/files/current.csv"),
        "https://www.cbp.gov/files/current.csv": ok(b"Entity\nA\n", etag='"e1"'),
    })
    fetched = fetch(web.client(), "https://cbp.gov/csv")
    assert (fetched.url, fetched.content, fetched.etag) == ("https://www.cbp.gov/files/current.csv", b"Entity\nA\n",
                                                            '"e1"')


def test_conditional_headers_survive_a_redirect_within_the_site():
    web = FakeWeb({
        "https://www.dhs.gov/old": redirect("https://www.dhs.gov/uflpa-entity-list"),
        uflpa.URL: ok(PAGE, etag='"v1"'),
    })
    assert fetch(web.client(), "https://www.dhs.gov/old", etag='"v1"').not_modified


@pytest.mark.parametrize("target", [
    "http://www.dhs.gov/uflpa-entity-list",
    "https://evil.example/uflpa-entity-list",
    "https://www.dhs.gov.evil.example/uflpa-entity-list",
    "https://notdhs.gov/uflpa-entity-list",
    "https://127.0.0.1/uflpa-entity-list",
])
def test_a_redirect_off_the_site_or_to_clear_text_is_refused_and_never_requested(target):
    web = FakeWeb({uflpa.URL: redirect(target), target: ok(PAGE)})
    with pytest.raises(FetchError, match="refusing to") as raised:
        fetch(web.client(), uflpa.URL)
    assert [str(request.url) for request in web.requests] == [uflpa.URL]
    assert "\n" not in str(raised.value) and target in str(raised.value)


def test_a_redirect_loop_is_refused():
    web = FakeWeb({"https://www.dhs.gov/a": redirect("https://www.dhs.gov/b"),
                   "https://www.dhs.gov/b": redirect("https://www.dhs.gov/a")})
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(web.client(), "https://www.dhs.gov/a")
    assert len(web.requests) == MAX_REDIRECTS + 1


def test_a_refused_redirect_leaves_the_store_untouched(tmp_path):
    with Store(tmp_path / "lists.duckdb") as store:
        ingest_source(store, uflpa.SOURCE, FakeWeb({uflpa.URL: ok(PAGE)}).client())
        before = store.query("SELECT snapshot_id, sha256, row_count FROM snapshots").rows()
        web = FakeWeb({uflpa.URL: redirect("https://mirror.example/uflpa.html"),
                       "https://mirror.example/uflpa.html": ok(PAGE.replace(b"Ninestar", b"Ninestars"))})
        with pytest.raises(FetchError, match="leaves dhs.gov"):
            ingest_source(store, uflpa.SOURCE, web.client(), force=True)
        assert store.query("SELECT snapshot_id, sha256, row_count FROM snapshots").rows() == before


def test_a_cbp_page_linking_its_csv_on_another_site_is_refused():
    page = fixture("cbp_wro_document.html").replace(
        b'href="/sites/default/files/2025-01/', b'href="https://files.example/2025-01/')
    web = FakeWeb({cbp_wro.URL: ok(page), "https://files.example/2025-01/" + CBP_CSV.rsplit("/", 1)[1]: ok(b"x")})
    with pytest.raises(FetchError, match="leaves cbp.gov"):
        cbp_wro.download(web.client(), cbp_wro.URL, Validators())
    assert [str(request.url) for request in web.requests] == [cbp_wro.URL]


def test_the_cli_refuses_a_clear_text_url_with_one_line(tmp_path, monkeypatch, capsys):
    web = FakeWeb({"http://www.dhs.gov/uflpa-entity-list": ok(PAGE)})
    monkeypatch.setattr(cli_ingest, "client_factory", lambda timeout: web.client())
    monkeypatch.setattr(sys, "argv", ["screener", "ingest", "uflpa", "--url", "http://www.dhs.gov/uflpa-entity-list",
                                      "--db", str(tmp_path / "lists.duckdb")])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: uflpa: refusing to download http://")
    assert web.requests == []


@pytest.mark.parametrize(("host", "site"), [
    ("www.cbp.gov", "cbp.gov"), ("cbp.gov", "cbp.gov"), ("data.opensanctions.org", "opensanctions.org"),
    ("www.gov.uk", "www.gov.uk"), ("assets.publishing.service.gov.uk", "service.gov.uk"),
    ("www.mofcom.gov.cn", "mofcom.gov.cn"), ("WWW.DHS.GOV.", "dhs.gov"), ("127.0.0.1", "127.0.0.1"),
])
def test_sites_are_registrable_domains(host, site):
    assert site_of(host) == site


def test_the_client_checks_certificates_and_leaves_redirects_to_fetch():
    with make_client() as client:
        context = client._transport._pool._ssl_context
        assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
        assert client.follow_redirects is False


@pytest.fixture
def self_signed_server(tmp_path):
    """An HTTPS server on the loopback interface with a self-signed certificate (no network involved)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_certificate_that_cannot_be_verified_is_refused_without_retrying(self_signed_server):
    pauses: list[float] = []
    with make_client(timeout=10) as client, pytest.raises(FetchError, match="certificate could not be verified"):
        fetch(client, self_signed_server, sleep=pauses.append)
    assert pauses == []
