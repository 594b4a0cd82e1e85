"""File-screening jobs through the ASGI transport (every report format, a bad file, chosen columns) and
`screener keys add|list|revoke` as a user runs them."""

from __future__ import annotations

import io
import time

import openpyxl
import polars as pl
import pytest

from screener.service.errors import ServiceError
from screener.service.keys import add_key, revoke_key
from tests.conftest import EXAMPLE_SUPPLIERS
from tests.test_cli import screener
from tests.test_service import client, service_db  # noqa: F401 (module fixtures shared with the match tests)


@pytest.fixture(scope="module")
def token(service_db) -> str:
    return add_key(service_db, "jobs")[1]


def finished(client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def submit(client, token: str, name: str, content: bytes, **form: str) -> str:
    answer = client.post("/screen", files={"file": (name, content)}, data=form, headers={"X-API-Key": token})
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def test_a_job_screens_the_file_and_serves_every_report(client, token):
    job_id = submit(client, token, "suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes())
    job = finished(client, job_id)
    assert job["status"] == "done" and job["progress"] == 1.0 and job["rows_total"] == 45
    rows = client.get(f"/jobs/{job_id}/report.json").json()
    assert len(rows) == 45 and rows[0]["supplier_name"].startswith("Xinjiang Zhongtai") and rows[0]["matches"]
    assert rows[0]["match_citation"] and rows[0]["match_snapshot"]
    csv = client.get(f"/jobs/{job_id}/report.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 46
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/jobs/{job_id}/report.xlsx").content), read_only=True)
    assert {"Results", "Sources"} <= set(book.sheetnames)
    html = client.get(f"/jobs/{job_id}/report.html")
    assert html.status_code == 200 and "Hoshine" in html.text
    parquet = pl.read_parquet(io.BytesIO(client.get(f"/jobs/{job_id}/report.parquet").content))
    assert parquet.height == 45 and parquet["risk_tier"][0] == rows[0]["risk_tier"]
    assert client.get(f"/jobs/{job_id}/report.pdf").json()["code"] == "unknown_format"


def test_chosen_columns_are_used_and_a_bad_column_fails_the_job_with_one_line(client, token):
    content = b"Vendor,Ctry\nHoshine Silicon Industry Co. Ltd.,CN\nNordic Timber AB,SE\n"
    done = finished(client, submit(client, token, "v.csv", content, name_col="Vendor", country_col="Ctry"))
    assert done["status"] == "done" and done["summary"]["tiers"]["critical"] == 1
    failed = finished(client, submit(client, token, "v.csv", content, name_col="Supplier Name"))
    assert failed["status"] == "failed" and "Supplier Name" in failed["error"] and "\n" not in failed["error"]
    refused = client.get(f"/jobs/{failed['job_id']}/report.csv")
    assert refused.status_code == 409 and refused.json()["code"] == "job_failed"


def test_a_damaged_file_fails_its_job_not_the_server(client, token):
    job = finished(client, submit(client, token, "book.xlsx", b"PK\x03\x04" + b"\x00garbage" * 200))
    assert job["status"] == "failed" and "book.xlsx" in job["error"]
    assert client.get("/healthz").status_code == 200
    assert client.post("/screen", files={"file": ("e.csv", b"  ")}, headers={"X-API-Key": token}).json()["code"] == "empty_file"
    assert client.get("/jobs/0123").status_code == 404


def test_keys_add_list_revoke_from_the_command_line(lists_db):
    added = screener("keys", "add", "erp-prod", "--rate", "120", db=lists_db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    key_id = token.split("_")[1]
    assert token.startswith("scr_") and "cannot be shown again" in added.stderr
    listed = screener("keys", "list", db=lists_db)
    assert key_id in listed.stdout and "erp-prod" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    assert screener("keys", "revoke", key_id, db=lists_db).returncode == 0
    with pytest.raises(ServiceError, match="no active key has the id"):
        revoke_key(lists_db, key_id)
