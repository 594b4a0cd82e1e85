"""The screening service through the ASGI transport: yente's /match shapes, search, entity pages, sources, keys,
limits and errors. (The real-server round trips are in test_service_server.py, reconciliation in
test_service_reconcile.py, jobs in test_service_jobs.py.)"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from screener.api_keys import KEYRING_TTL_S, add_key, revoke_key
from screener.service.app import create_app
from screener.service.config import ServiceConfig
from screener.service.matching import Coalescer, Matched, screen_queries, verdicts
from screener.service.matching import Query as MatchQuery

FIXTURES = Path(__file__).parent / "fixtures" / "service"
JSON_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}


def service_client(db_path: Path, **settings) -> TestClient:
    client = TestClient(create_app(ServiceConfig(db_path=db_path, **settings)), raise_server_exceptions=False)
    client.__enter__()
    assert client.app.state.service.wait_loaded(60)
    return client


@pytest.fixture(scope="module")
def service_db(embedded_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("service") / "lists.duckdb"
    shutil.copyfile(embedded_db, path)
    return path


@pytest.fixture(scope="module")
def client(service_db) -> Iterator[TestClient]:
    client = service_client(service_db)
    yield client
    client.__exit__(None, None, None)


def assert_shape(value: dict, shape: dict[str, str], where: str) -> None:
    for key, kind in shape.items():
        assert key in value, f"{where} lacks {key!r}: {sorted(value)}"
        assert isinstance(value[key], JSON_TYPES[kind]) and not (kind in ("integer", "number") and isinstance(value[key], bool)), (
            f"{where}.{key} is {type(value[key]).__name__}, not {kind}")


def test_match_answers_yentes_request_in_yentes_shape_with_the_verdict_riding_along(client):
    recorded = json.loads((FIXTURES / "yente_match.json").read_text())
    shape = recorded["shape"]
    answer = client.post("/match/default", json=recorded["request"], params=recorded["params"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_shape(body, shape["response"], "response")
    assert set(body["responses"]) == {"entity1", "entity2", "entity3"}
    for key, matches in body["responses"].items():
        assert_shape(matches, shape["entity_matches"], key)
        assert_shape(matches["total"], shape["total"], f"{key}.total")
        assert len(matches["results"]) <= recorded["params"]["limit"]
        for result in matches["results"]:
            assert_shape(result, shape["scored_entity"], f"{key} result")
            assert 0 <= result["score"] <= 1
            for feature in result["explanations"].values():
                assert_shape(feature, shape["feature_result"], "explanation")
            assert all(isinstance(values, list) for values in result["properties"].values())
    hoshine = body["responses"]["entity1"]
    assert hoshine["results"][0]["match"] and "Hoshine" in hoshine["results"][0]["caption"]
    assert hoshine["tier"] == "critical" and hoshine["headline_entity_id"].startswith("uflpa:")
    assert any("UFLPA Entity List" in reason and "https://" in reason for reason in hoshine["reasons"])
    listing = hoshine["results"][0]["listing"]
    assert listing["list"] and listing["listed_on"] and listing["source_url"] and listing["snapshot_id"]
    assert listing["snapshot_age_days"] >= 0
    assert not any(result["match"] for result in body["responses"]["entity2"]["results"])
    assert body["responses"]["entity2"]["tier"] in ("clear", "low")
    assert body["responses"]["entity3"]["results"][0]["datasets"] == ["sanctions"]
    assert {snapshot["source"] for snapshot in body["lists"]} >= {"uflpa", "cbp_wro", "sanctions"}


def test_a_dataset_restricts_results_and_verdict_to_that_list(client):
    query = {"queries": {"q": {"schema": "Company", "properties": {"name": ["Hoshine Silicon Industry Co. Ltd."]}}}}
    everything = client.post("/match/default", json=query).json()["responses"]["q"]
    only_cbp = client.post("/match/cbp_wro", json=query).json()["responses"]["q"]
    assert {r["datasets"][0] for r in everything["results"]} > {"cbp_wro"}
    assert {r["datasets"][0] for r in only_cbp["results"]} == {"cbp_wro"}
    assert everything["tier"] == "critical" and only_cbp["tier"] != "critical"
    unknown = client.post("/match/nowhere", json=query)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_dataset"


def test_threshold_decides_match_and_limit_caps_results(client):
    query = {"queries": {"q": {"schema": "Company", "properties": {"name": "Hoshine Silicon Industry"}}}}
    strict = client.post("/match/default", json=query, params={"threshold": 0.999, "limit": 1}).json()
    results = strict["responses"]["q"]["results"]
    assert len(results) == 1 and strict["responses"]["q"]["total"]["value"] > 1
    assert all(result["match"] == (result["score"] >= 0.999) for result in results)
    assert strict["threshold"] == 0.999


@pytest.mark.parametrize(("request_body", "params", "status", "code"), [
    ({"queries": {f"q{n}": {"schema": "Company", "properties": {"name": "x"}} for n in range(101)}}, {}, 400, "batch_too_large"),
    ({"queries": {}}, {}, 400, "no_queries"),
    ({"queries": {"q": {"schema": "Banana", "properties": {"name": "x"}}}}, {}, 400, "bad_schema"),
    ({"queries": {"q": {"schema": "Company", "properties": {"country": "cn"}}}}, {}, 400, "query_without_name"),
    ({"queries": {"q": {"schema": "Company", "properties": {"name": "x"}}}}, {"algorithm": "neural-net"}, 400, "unknown_algorithm"),
    ({"queries": {"q": {"properties": {"name": "x"}}}}, {}, 422, "invalid_request"),
    ({"queries": {"q": {"schema": "Company", "properties": {"name": "x"}}}}, {"limit": 0}, 422, "invalid_request"),
])
def test_bad_match_requests_get_one_line_and_a_code(client, request_body, params, status, code):
    answer = client.post("/match/default", json=request_body, params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code and "\n" not in answer.json()["detail"]


def test_search_finds_a_listed_entity_by_its_chinese_name(client):
    answer = client.get("/search", params={"q": "合盛硅业股份有限公司", "country": "CN"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"]["value"] >= 1 and any("Hoshine" in result["caption"] for result in body["results"])
    assert body["tier"] == "critical"


def test_entity_page_has_names_listing_history_and_citation(client):
    entity_id = client.get("/search", params={"q": "Hoshine Silicon Industry (Shanshan)"}).json()["headline_entity_id"]
    page = client.get(f"/entities/{entity_id}").json()
    assert page["listing"]["entity_id"] == entity_id and page["listing"]["citation"]
    assert {name["script"] for name in page["names"]} >= {"Latin", "Chinese"}
    assert page["history"][0]["snapshot_id"] and page["urls"]
    missing = client.get("/entities/uflpa:000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_entity"


def test_sources_and_readiness_give_each_list_with_its_age(client):
    sources = client.get("/sources").json()["sources"]
    assert {source["source"] for source in sources} >= {"uflpa", "cbp_wro", "sanctions"}
    assert all(source["age_days"] is not None and source["url"] for source in sources)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["entities"] > 300
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200 and "/match/{dataset}" in client.get("/openapi.json").json()["paths"]


def test_writes_need_a_valid_key_and_a_revoked_key_stops_working(client, service_db):
    upload = {"file": ("s.csv", b"name,country\nAcme Ltd,US\n", "text/csv")}
    assert client.post("/screen", files=upload).json()["code"] == "key_required"
    assert client.post("/screen", files=upload, headers={"X-API-Key": "scr_nope_nope"}).status_code == 401
    key, token = add_key(service_db, "test writer")
    accepted = client.post("/screen", files=upload, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 202, accepted.text
    revoke_key(service_db, key.key_id)
    time.sleep(KEYRING_TTL_S + 0.1)
    refused = client.post("/screen", files=upload, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_key"


def test_a_key_is_rate_limited_with_retry_after(client, service_db):
    _, token = add_key(service_db, "slow client", rate_per_minute=2)
    statuses = [client.get("/sources", headers={"X-API-Key": token}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/sources", headers={"X-API-Key": token})
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1


def test_keyed_reads_refuse_anonymous_callers(service_db):
    keyed = service_client(service_db, open_reads=False)
    try:
        assert keyed.get("/sources").status_code == 401
        _, token = add_key(service_db, "reader")
        assert keyed.get("/sources", params={"api_key": token}).status_code == 200
        assert keyed.get("/healthz").status_code == 200
    finally:
        keyed.__exit__(None, None, None)


def test_request_bodies_over_the_limit_are_refused(service_db):
    small = service_client(service_db, max_json_bytes=1000)
    try:
        body = {"queries": {"q": {"schema": "Company", "properties": {"name": "x" * 2000}}}}
        answer = small.post("/match/default", json=body)
        assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"
        chunked = small.post("/match/default", content=iter([b'{"queries": {"q": {"schema": "Company", ', b" " * 2000]),
                             headers={"content-type": "application/json"})
        assert chunked.status_code == 413
    finally:
        small.__exit__(None, None, None)


def test_cors_is_off_unless_an_origin_is_configured(client, service_db):
    asked = {"Origin": "https://erp.example.com"}
    assert "access-control-allow-origin" not in client.get("/sources", headers=asked).headers
    open_to_erp = service_client(service_db, cors_origins=("https://erp.example.com",))
    try:
        assert open_to_erp.get("/sources", headers=asked).headers["access-control-allow-origin"] == "https://erp.example.com"
    finally:
        open_to_erp.__exit__(None, None, None)


def test_a_server_failure_answers_a_code_without_traceback_or_path(embedded_db, tmp_path):
    db_path = tmp_path / "lists.duckdb"
    shutil.copyfile(embedded_db, db_path)
    broken = service_client(db_path)
    try:
        db_path.write_bytes(b"not a database at all" * 100)
        answer = broken.get("/entities/uflpa:220d93055fc4")
        assert answer.status_code == 500
        assert answer.json() == {"code": "internal_error", "detail": "the server failed to answer this request; its log says why"}
        assert str(tmp_path) not in answer.text
        broken.app.state.service.runner.wake()
        time.sleep(1)
        assert broken.app.state.service.runner._thread.is_alive()  # the job runner waits for the database, alive
    finally:
        broken.__exit__(None, None, None)


def test_concurrent_requests_share_screenings_and_each_gets_only_its_own_answer(client):
    """Requests arriving while a screening runs are screened together next; the answers are split back."""
    screener = client.app.state.service.loaded.screener
    calls = []

    class Counting(type(screener)):
        def screen(self, *args, **kwargs):
            calls.append(1)
            return super().screen(*args, **kwargs)

    counting = Counting(screener.lists, screener.config, screener.ruleset)
    coalescer = Coalescer()
    names = ["Hoshine Silicon Industry Co. Ltd.", "Nordic Timber AB", "Xinjiang Production and Construction Corps",
             "Acme Widgets Ltd", "Chen Quanguo", "Hetian Taida Apparel", "Pacific Fishing Co", "Ninestar Corporation"]
    start = threading.Barrier(len(names))
    answers: dict[str, Matched] = {}

    def ask(name: str) -> None:
        start.wait()
        answers[name] = coalescer.screen(counting, [MatchQuery("q", (name,))])

    threads = [threading.Thread(target=ask, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) < len(names)
    for name, matched in answers.items():
        assert matched.result.rows["name"].to_list() == [name] and matched.row_query["key"].to_list() == ["q"]
        assert set(matched.result.candidates["row"].to_list()) <= set(matched.row_query["row"].to_list())
        alone = screen_queries(screener, [MatchQuery("q", (name,))])
        assert verdicts(matched) == verdicts(alone)


class RoundCounting:
    """A screener that records how many requests each screening held (one query per request)."""

    def __init__(self, screener):
        self.screener, self.rounds = screener, []

    def screen(self, *args, **kwargs):
        self.rounds.append(args[0].height)
        return self.screener.screen(*args, **kwargs)


def test_after_a_shared_screening_the_next_gathers_the_clients_coming_back(client):
    """Clients that send their next request as soon as they are answered share each screening: the rounds do not
    alternate between the first client back, screened alone, and the rest."""
    counting = RoundCounting(client.app.state.service.loaded.screener)
    coalescer = Coalescer(gather=2.0)  # far longer than the clients take to come back, however loaded the machine
    names = ["Hoshine Silicon Industry Co. Ltd.", "Nordic Timber AB", "Acme Widgets Ltd", "Pacific Fishing Co"]
    start = threading.Barrier(len(names))

    def keep_asking(name: str) -> None:
        start.wait()
        for _ in range(6):
            coalescer.screen(counting, [MatchQuery("q", (name,))])

    threads = [threading.Thread(target=keep_asking, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counting.rounds) == 24
    assert 1 not in counting.rounds[1:-1], counting.rounds  # without gathering: 1, 4, 1, 4, 1, 3, ...


def test_a_lone_client_is_never_kept_waiting_for_others(client):
    counting = RoundCounting(client.app.state.service.loaded.screener)
    coalescer = Coalescer(gather=30.0)
    started = time.monotonic()
    for name in ("Hoshine Silicon Industry Co. Ltd.", "Nordic Timber AB", "Acme Widgets Ltd"):
        coalescer.screen(counting, [MatchQuery("q", (name,))])
    assert counting.rounds == [1, 1, 1] and time.monotonic() - started < 30
