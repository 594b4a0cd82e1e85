"""The Reconciliation Service API with OpenRefine's request shapes (tests/fixtures/service/openrefine.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from screener.api_keys import add_key
from tests.test_service import client, service_db  # noqa: F401 (module fixtures shared with the match tests)

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "service" / "openrefine.json").read_text())


def test_the_manifest_has_what_openrefine_reads_and_passes_the_key_on(client, service_db):
    _, token = add_key(service_db, "openrefine")
    manifest = client.get("/reconcile", params={"api_key": token}).json()
    assert set(RECORDED["manifest_keys"]) <= set(manifest)
    assert manifest["versions"] == ["0.2"]
    assert {item["id"] for item in manifest["defaultTypes"]} >= {"Organization", "Person"}
    assert "{{id}}" in manifest["view"]["url"] and "{{id}}" in manifest["preview"]["url"]
    assert manifest["suggest"]["entity"]["service_path"] == f"/suggest/entity?api_key={token}"
    assert manifest["preview"]["url"].endswith(f"&api_key={token}")
    jsonp = client.get("/reconcile", params={"callback": "jsonp123"})
    assert jsonp.headers["content-type"].startswith("application/javascript") and jsonp.text.startswith("jsonp123({")
    assert client.get("/reconcile", params={"callback": "alert(1)//"}).json()["code"] == "bad_callback"


def test_batched_queries_with_types_and_properties(client):
    answer = client.post("/reconcile", data={"queries": json.dumps(RECORDED["queries"])})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == set(RECORDED["queries"])
    for results in body.values():
        for candidate in results["result"]:
            assert set(RECORDED["candidate_keys"]) <= set(candidate)
    hoshine = body["q0"]["result"]
    assert len(hoshine) <= 3 and hoshine[0]["match"] and "Hoshine" in hoshine[0]["name"]
    assert all(candidate["type"][0]["id"] == "Organization" for candidate in hoshine)
    assert sum(candidate["match"] for candidate in hoshine) == 1
    assert body["q1"]["result"][0]["match"] and "tier critical" in body["q1"]["result"][0]["description"]
    assert not any(candidate["match"] for candidate in body["q2"]["result"])
    by_get = client.get("/reconcile", params={"queries": json.dumps({"x": RECORDED["queries"]["q0"]})}).json()
    assert by_get["x"]["result"][0]["id"] == hoshine[0]["id"]


def test_a_type_filter_keeps_only_that_type(client):
    people = {"p": {"query": "Xinjiang Production and Construction Corps", "type": "Person"}}
    assert client.post("/reconcile", data={"queries": json.dumps(people)}).json()["p"]["result"] == []


@pytest.mark.parametrize(("field", "value", "code"), [
    ("queries", {"q": {"type": "Banana", "query": "x"}}, "unknown_type"),
    ("queries", {"q": {"type": "Organization"}}, "query_without_name"),
    ("queries", "not json", "bad_json"),
    ("queries", {f"q{n}": {"query": "x"} for n in range(101)}, "batch_too_large"),
    ("extend", {"ids": ["x"], "properties": [{"id": "favourite_colour"}]}, "unknown_property"),
])
def test_bad_reconciliation_requests_get_a_code(client, field, value, code):
    answer = client.post("/reconcile", data={field: value if isinstance(value, str) else json.dumps(value)})
    assert answer.status_code == 400 and answer.json()["code"] == code


def test_data_extension_returns_tier_list_section_date_and_citation(client):
    found = client.post("/reconcile", data={"queries": json.dumps(RECORDED["queries"])}).json()
    ids = [found["q0"]["result"][0]["id"], found["q1"]["result"][0]["id"], "uflpa:000000000000"]
    extension = client.post("/reconcile", data={"extend": json.dumps({"ids": ids, **RECORDED["extend"]})}).json()
    assert [meta["id"] for meta in extension["meta"]] == [prop["id"] for prop in RECORDED["extend"]["properties"]]
    first = extension["rows"][ids[0]]
    values = {pid: [value[RECORDED["extend_value_key"]] for value in first[pid]] for pid in first}
    assert values["tier"] == ["critical"]
    assert values["list"] and values["program"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", values["listed_on"][0])
    assert values["citation"]
    assert extension["rows"][ids[2]] == {prop["id"]: [] for prop in RECORDED["extend"]["properties"]}


def test_a_listing_no_longer_in_force_extends_to_its_lower_tier(client):
    """The tier of a revoked CBP order is not that of an active listing (the rules decide, per listing)."""
    revoked = client.get("/search", params={"q": "Top Glove Corporation Bhd"}).json()
    entity_id = next(r["id"] for r in revoked["results"] if r["listing"]["status"] not in ("active", None))
    extension = client.post("/reconcile", data={"extend": json.dumps({"ids": [entity_id], "properties": [{"id": "tier"}]})})
    assert extension.json()["rows"][entity_id]["tier"] == [{"str": "low"}]


def test_preview_suggest_and_property_proposals(client):
    found = client.post("/reconcile", data={"queries": json.dumps({"q": RECORDED["queries"]["q0"]})}).json()
    entity_id = found["q"]["result"][0]["id"]
    preview = client.get("/reconcile/preview", params={"id": entity_id})
    assert preview.status_code == 200 and "Hoshine" in preview.text and "<script" not in preview.text
    suggested = client.get("/reconcile/suggest/entity", params={"prefix": "hoshine"}).json()["result"]
    assert suggested and all("Hoshine" in item["name"] or item["id"] for item in suggested)
    assert client.get("/reconcile/suggest/entity", params={"prefix": ""}).json()["result"] == []
    assert [t["id"] for t in client.get("/reconcile/suggest/type", params={"prefix": "org"}).json()["result"]] == ["Organization"]
    assert {p["id"] for p in client.get("/reconcile/suggest/property", params={"prefix": "tier"}).json()["result"]} == {"tier"}
    proposed = client.get("/reconcile/extend/propose", params={"type": "Organization"}).json()
    assert {"tier", "list", "program", "listed_on", "citation"} <= {p["id"] for p in proposed["properties"]}
