"""File-screening jobs through the ASGI transport (every report format, a bad file, chosen columns) and
`screener keys add|list|revoke` as a user runs them."""

from __future__ import annotations

import io
import json
import time

import openpyxl
import polars as pl
import pytest

from screener.api_keys import ApiKeyError, add_key, revoke_key
from screener.jobs.errors import JobRunning
from screener.jobs.files import input_dir, job_dir, jobs_dir, upload_path
from screener.jobs.reports import job_report
from screener.jobs.runner import run_job
from screener.jobs.store import JobOptions, claim_job, delete_job, submit_job
from screener.reports import report_sidecars
from screener.screening import screen_to_report
from screener.store import Store
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


def test_a_job_links_its_reports_sidecars_as_the_cli_writes_them(client, token):
    job_id = submit(client, token, "suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes())
    job = finished(client, job_id)
    assert job["sidecars"] == {
        "csv": {"sources": f"/jobs/{job_id}/report.sources.csv", "candidates": f"/jobs/{job_id}/report.candidates.csv"},
        "json": {"sources": f"/jobs/{job_id}/report.sources.json"},
        "parquet": {"sources": f"/jobs/{job_id}/report.sources.parquet",
                    "candidates": f"/jobs/{job_id}/report.candidates.parquet"},
    }
    csv = client.get(job["reports"]["csv"])
    assert csv.headers["link"] == ", ".join(f'<{url}>; rel="describedby"; title="{kind}"'
                                            for kind, url in job["sidecars"]["csv"].items())
    sources = pl.read_csv(io.BytesIO(client.get(job["sidecars"]["csv"]["sources"]).content))
    assert {"source", "snapshot_id", "as_of", "age_days", "rules_version"} <= set(sources.columns)
    facts = client.get(job["sidecars"]["json"]["sources"]).json()
    assert facts["metadata"]["snapshots"] and facts["metadata"]["thresholds"] and facts["summary"]["tiers"]["critical"] >= 1
    assert facts["metadata"]["rules_version"] == sources["rules_version"][0]
    unknown = client.get(f"/jobs/{job_id}/report.candidates.json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_report_file"


def test_a_job_is_screened_batch_by_batch_into_the_reports_the_cli_writes(client, lists_db, tmp_path):
    """A job stored in batches of 10 rows gives, file for file, the reports `screener screen --out` writes at once
    (the run's time aside)."""
    screener = client.app.state.service.screener_if_loaded()
    with EXAMPLE_SUPPLIERS.open("rb") as upload:
        job_id = submit_job(lists_db, "suppliers.csv", upload, JobOptions(), None)
    claimed = claim_job(lists_db)
    assert claimed is not None
    run_job(lists_db, screener, claimed, batch_rows=10)
    with Store(lists_db) as store:
        assert store.scalar("SELECT count(*) FROM job_parts WHERE job_id = ?", [job_id]) == 5
        assert store.query("SELECT status, rows_done FROM jobs").rows() == [("done", 45)]
    for fmt in ("csv", "json", "parquet"):
        cli = screen_to_report(EXAMPLE_SUPPLIERS, tmp_path / f"report.{fmt}", lists_db, screener=screener)
        served = job_report(lists_db, job_id, fmt)
        for kind, path in {"": served, **report_sidecars(served, fmt)}.items():
            ours = tmp_path / path.name
            assert without_run_time(path, fmt, kind) == without_run_time(ours, fmt, kind), (fmt, kind)
        assert cli.rows == 45


def test_a_job_finished_before_results_were_stored_by_batch_keeps_its_reports(client, lists_db):
    """A database of schema 3 (a job's result as one blob) is migrated: the job's result becomes its one batch."""
    result = client.app.state.service.screener_if_loaded().check("Hoshine Silicon Industry Co.")
    rows, candidates = io.BytesIO(), io.BytesIO()
    result.rows.write_parquet(rows)
    result.candidates.write_parquet(candidates)
    stored = json.dumps({"metadata": result.metadata, "summary": {"rows": 1, "tiers": {"critical": 1}}}, default=str)
    with Store(lists_db) as store:
        for statement in ("DROP TABLE job_parts", "ALTER TABLE jobs ADD COLUMN result_rows BLOB",
                          "ALTER TABLE jobs ADD COLUMN result_candidates BLOB", "DELETE FROM schema_version WHERE version = 4"):
            store.con.execute(statement)
        store.con.execute(
            """INSERT INTO jobs (job_id, status, filename, options, rows_done, created_at, result_rows, result_candidates,
                                 result_metadata) VALUES ('old', 'done', 'a.csv', '{}', 1, now(), ?, ?, ?)""",
            [rows.getvalue(), candidates.getvalue(), stored],
        )
    report = pl.read_csv(job_report(lists_db, "old", "csv"))
    assert report["risk_tier"].to_list() == ["critical"] and report["match_snapshot"][0]
    with Store(lists_db) as store:
        assert "result_rows" not in store.query("SELECT * FROM jobs").columns


def without_run_time(path, fmt: str, kind: str):
    """A report file's content, the time of the run left out where the sources sidecar records it."""
    if fmt == "json":
        content = json.loads(path.read_text(encoding="utf-8"))
        return {**content, "metadata": {**content["metadata"], "run_at": None}} if kind == "sources" else content
    frame = pl.read_csv(path, infer_schema=False) if fmt == "csv" else pl.read_parquet(path)
    return frame.drop("run_at", strict=False).to_dicts()


def test_chosen_columns_are_used_and_a_bad_column_fails_the_job_with_one_line(client, token):
    content = b"Vendor,Ctry\nHoshine Silicon Industry Co. Ltd.,CN\nNordic Timber AB,SE\n"
    done = finished(client, submit(client, token, "v.csv", content, name_col="Vendor", country_col="Ctry"))
    assert done["status"] == "done" and done["summary"]["tiers"]["critical"] == 1
    failed = finished(client, submit(client, token, "v.csv", content, name_col="Supplier Name"))
    assert failed["status"] == "failed" and "Supplier Name" in failed["error"] and "\n" not in failed["error"]
    refused = client.get(f"/jobs/{failed['job_id']}/report.csv")
    assert refused.status_code == 409 and refused.json()["code"] == "job_failed"


def test_a_damaged_file_fails_its_job_not_the_server(client, token, service_db):
    job = finished(client, submit(client, token, "book.xlsx", b"PK\x03\x04" + b"\x00garbage" * 200))
    assert job["status"] == "failed" and "book.xlsx" in job["error"]
    assert client.get("/healthz").status_code == 200
    assert client.post("/screen", files={"file": ("e.csv", b"  ")}, headers={"X-API-Key": token}).json()["code"] == "empty_file"
    assert client.get("/jobs/0123").status_code == 404
    (service_db.parent / "report.csv").write_text("a file beside the database, not a job's report")
    jobs_dir(service_db).mkdir(exist_ok=True)
    assert client.get("/jobs/%2E%2E/report.csv").status_code == 404  # an id names no folder before it is found


def test_keys_add_list_revoke_from_the_command_line(lists_db):
    added = screener("keys", "add", "erp-prod", "--rate", "120", db=lists_db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    key_id = token.split("_")[1]
    assert token.startswith("scr_") and "cannot be shown again" in added.stderr
    listed = screener("keys", "list", db=lists_db)
    assert key_id in listed.stdout and "erp-prod" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    assert screener("keys", "revoke", key_id, db=lists_db).returncode == 0
    with pytest.raises(ApiKeyError, match="no active key has the id"):
        revoke_key(lists_db, key_id)


def screened_job(db_path, loaded) -> str:
    """A job submitted, screened and its CSV report written, as the service does it; its upload waited on disk."""
    with EXAMPLE_SUPPLIERS.open("rb") as upload:
        job_id = submit_job(db_path, "suppliers.csv", upload, JobOptions(), None)
    assert upload_path(db_path, job_id, "suppliers.csv").read_bytes() == EXAMPLE_SUPPLIERS.read_bytes()
    claimed = claim_job(db_path)
    assert claimed is not None and claimed.job_id == job_id
    run_job(db_path, loaded, claimed)
    assert job_report(db_path, job_id, "csv").exists() and not input_dir(db_path, job_id).exists()
    return job_id


def stored_jobs(db_path) -> tuple[set[str], set[str]]:
    with Store(db_path) as store:
        return (set(store.query("SELECT job_id FROM jobs")["job_id"]),
                set(store.query("SELECT DISTINCT job_id FROM job_parts")["job_id"]))


def test_finished_jobs_past_the_retention_are_deleted_with_their_files_when_a_job_is_submitted(client, lists_db, monkeypatch):
    loaded = client.app.state.service.screener_if_loaded()
    old, recent = screened_job(lists_db, loaded), screened_job(lists_db, loaded)
    with Store(lists_db) as store:
        store.con.execute("UPDATE jobs SET finished_at = finished_at - INTERVAL 31 DAY WHERE job_id = ?", [old])
    monkeypatch.setenv("SCREENER_JOB_RETENTION_DAYS", "0")  # keeps every job
    kept = submit_job(lists_db, "a.csv", io.BytesIO(b"name\nAcme\n"), JobOptions(), None)
    assert stored_jobs(lists_db) == ({old, recent, kept}, {old, recent})
    monkeypatch.setenv("SCREENER_JOB_RETENTION_DAYS", "30")
    queued = submit_job(lists_db, "b.csv", io.BytesIO(b"name\nAcme\n"), JobOptions(), None)
    assert stored_jobs(lists_db) == ({recent, kept, queued}, {recent})
    assert not job_dir(lists_db, old).exists() and (job_dir(lists_db, recent) / "report.csv").exists()
    pruned = screener("jobs", "prune", "--older-than", "0", db=lists_db)
    assert pruned.returncode == 0 and "Deleted 1 job finished more than 0 days ago" in pruned.stderr, pruned.stderr
    assert stored_jobs(lists_db) == ({kept, queued}, set()) and sorted(jobs_dir(lists_db).iterdir()) == sorted(
        [job_dir(lists_db, kept), job_dir(lists_db, queued)])


def test_a_running_job_is_not_deleted(lists_db):
    job_id = submit_job(lists_db, "a.csv", io.BytesIO(b"name\nAcme\n"), JobOptions(), None)
    assert claim_job(lists_db) is not None
    with pytest.raises(JobRunning, match=f"job {job_id} is being screened"):
        delete_job(lists_db, job_id)
    assert stored_jobs(lists_db)[0] == {job_id} and upload_path(lists_db, job_id, "a.csv").exists()


def test_delete_needs_a_key_and_removes_the_job_its_result_and_its_files(client, token, service_db):
    job_id = submit(client, token, "suppliers.csv", EXAMPLE_SUPPLIERS.read_bytes())
    assert finished(client, job_id)["status"] == "done"
    assert client.get(f"/jobs/{job_id}/report.csv").status_code == 200 and job_dir(service_db, job_id).exists()
    assert client.delete(f"/jobs/{job_id}").json()["code"] == "key_required"
    deleted = client.delete(f"/jobs/{job_id}", headers={"X-API-Key": token})
    assert deleted.status_code == 200 and deleted.json() == {"job_id": job_id, "deleted": True}
    assert client.get(f"/jobs/{job_id}").json()["code"] == "unknown_job"
    assert client.get(f"/jobs/{job_id}/report.csv").status_code == 404
    assert not job_dir(service_db, job_id).exists() and job_id not in stored_jobs(service_db)[1]
    assert client.delete(f"/jobs/{job_id}", headers={"X-API-Key": token}).status_code == 404
