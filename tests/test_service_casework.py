"""Portfolios and decisions over the API, as the CLI has them (ASGI transport)."""

from __future__ import annotations

from screener.api_keys import add_key
from tests.conftest import EXAMPLE_SUPPLIERS
from tests.test_service import service_client


def test_portfolio_add_decide_rescreen_and_audit_log(lists_db):
    client = service_client(lists_db)
    try:
        _, token = add_key(lists_db, "analyst desk")
        keyed = {"Authorization": f"Bearer {token}"}
        upload = {"file": ("suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes(), "text/csv")}
        assert client.post("/portfolios", data={"name": "brand-x"}, files=upload).status_code == 401
        added = client.post("/portfolios", data={"name": "brand-x"}, files=upload, headers=keyed)
        assert added.status_code == 201, added.text
        first = added.json()
        assert first["tiers"]["critical"] >= 1 and first["previous_run_id"] is None and first["changes"] == []
        again = client.post("/portfolios", data={"name": "brand-x"}, files=upload, headers=keyed)
        assert again.status_code == 400 and again.json()["code"] == "portfolio_error"
        listed = client.get("/portfolios").json()["portfolios"]
        assert [row["name"] for row in listed] == ["brand-x"] and listed[0]["suppliers"] == 45

        matches = client.get("/portfolios/brand-x/matches").json()["matches"]
        ninestar = next(m for m in matches if (m["supplier_name"] or "").startswith("NINESTAR"))
        decision = {"portfolio": "brand-x", "supplier": ninestar["supplier_key"], "entity_id": ninestar["entity_id"],
                    "decision": "false positive", "comment": "Different firm: Zhuhai address differs", "analyst": "A. Analyst"}
        assert client.post("/decisions", json={**decision, "decision": "maybe"}, headers=keyed).json()["code"] == "decision_error"
        recorded = client.post("/decisions", json=decision, headers=keyed)
        assert recorded.status_code == 201 and recorded.json()["decision"] == "false_positive"

        rescreened = client.post("/portfolios/brand-x/screen", headers=keyed).json()
        assert rescreened["previous_run_id"] == first["run_id"] and rescreened["decision_states"]["dismissed"] >= 1
        log = client.get("/decisions", params={"portfolio": "brand-x"}).json()["decisions"]
        assert len(log) == 1 and log[0]["analyst"] == "A. Analyst" and log[0]["in_force"]
        assert client.get("/portfolios/nowhere/matches").status_code == 404
    finally:
        client.__exit__(None, None, None)
