"""How old each list is: one age limit, one warning wording, and every output built from them."""

from __future__ import annotations

import datetime as dt

import pytest

from screener.doctor import run_checks
from screener.freshness import ages_line, max_age_days, with_ages
from screener.screening import ScreenConfig, Screener
from screener.settings import MAX_AGE_DAYS

MAX_AGE_ENV = MAX_AGE_DAYS.name

TODAY = dt.date(2026, 12, 2)


def test_the_age_limit_is_90_days_unless_configured(monkeypatch):
    monkeypatch.delenv(MAX_AGE_ENV, raising=False)
    assert max_age_days() == MAX_AGE_DAYS.default == 90
    monkeypatch.setenv(MAX_AGE_ENV, "30")
    assert max_age_days() == 30
    monkeypatch.setenv(MAX_AGE_ENV, "soon")
    with pytest.raises(ValueError, match=f"\\${MAX_AGE_ENV} must be a whole number of days, not 'soon'"):
        max_age_days()


def test_each_list_gets_its_age_and_a_warning_only_past_the_limit():
    snapshots = [
        {"source": "uflpa", "snapshot_id": 1, "as_of": "2026-08-03"},
        {"source": "cbp_wro", "snapshot_id": 2, "as_of": dt.date(2026, 11, 30)},
        {"source": "sanctions", "snapshot_id": 3, "as_of": None},
    ]
    uflpa, cbp, sanctions = with_ages(snapshots, today=TODAY, limit=90)
    assert (uflpa["age_days"], cbp["age_days"], sanctions["age_days"]) == (121, 2, None)
    assert uflpa["age_warning"] == (
        "The uflpa list is 121 days old (as of 2026-08-03), older than 90 days; run `screener ingest uflpa` to refresh it."
    )
    assert cbp["age_warning"] == ""
    assert "age is unknown" in sanctions["age_warning"] and "screener ingest csl opensanctions" in sanctions["age_warning"]
    assert ages_line([uflpa, cbp]) == "uflpa #1 (as of 2026-08-03, 121 days old), cbp_wro #2 (as of 2026-11-30, 2 days old)"


def test_screening_metadata_carries_each_list_age_and_the_limit(lists_db, monkeypatch):
    monkeypatch.setenv(MAX_AGE_ENV, "0")
    result = Screener.from_db(lists_db, ScreenConfig()).check("Hoshine Silicon Industry")
    assert result.metadata["max_age_days"] == 0
    for snapshot in result.metadata["snapshots"]:
        assert snapshot["age_days"] == (dt.date.today() - dt.date.fromisoformat(snapshot["as_of"])).days
        assert "screener ingest" in snapshot["age_warning"]
    monkeypatch.setenv(MAX_AGE_ENV, "1000000")
    result = Screener.from_db(lists_db, ScreenConfig()).check("Hoshine Silicon Industry")
    assert all(snapshot["age_warning"] == "" for snapshot in result.metadata["snapshots"])


def test_doctor_fails_past_an_explicit_limit_and_warns_past_the_configured_one(lists_db, monkeypatch):
    explicit = [finding for finding in run_checks(lists_db, [], max_age=1) if finding.check == "freshness"]
    assert {finding.status for finding in explicit} == {"fail"}
    assert all("limit 1" in finding.message for finding in explicit)
    monkeypatch.setenv(MAX_AGE_ENV, "1")
    configured = [finding for finding in run_checks(lists_db, []) if finding.check == "freshness"]
    assert {finding.status for finding in configured} == {"warn"}
    recent = [finding for finding in run_checks(lists_db, [], max_age=1_000_000) if finding.check == "freshness"]
    assert {finding.status for finding in recent} == {"ok"}
