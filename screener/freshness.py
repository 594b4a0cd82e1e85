"""How old each list is and when that is too old: one threshold and one wording for every output."""

from __future__ import annotations

import datetime as dt
from typing import Any

from screener import settings
from sources.registry import SOURCE_NAMES


def max_age_days() -> int:
    """The age in days past which a list is reported as out of date: $SCREENER_MAX_AGE_DAYS, else 90."""
    return settings.MAX_AGE_DAYS.value()


def refresh_advice(source: str) -> str:
    """What to run: the source's own ingest, or, for the embedded sanctions compilation, the live lists beside it."""
    if source in SOURCE_NAMES:
        return f"run `screener ingest {source}` to refresh it"
    return "run `screener ingest csl opensanctions` to screen against the current full lists as well"


def age_days(as_of: dt.date | str | None, today: dt.date) -> int | None:
    """Days from a list's as-of date to today (None when the list has no as-of date)."""
    if as_of is None:
        return None
    return (today - (dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of)).days


def age_warning(source: str, as_of: dt.date | str | None, today: dt.date, limit: int) -> str:
    """The warning for a list older than `limit` days (or without an as-of date); empty when it is recent enough."""
    age = age_days(as_of, today)
    if age is None:
        return f"The {source} list has no as-of date: its age is unknown; {refresh_advice(source)}."
    if age <= limit:
        return ""
    return f"The {source} list is {age} days old (as of {as_of}), older than {limit} days; {refresh_advice(source)}."


def with_ages(snapshots: list[dict[str, Any]], today: dt.date | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The snapshot records with `age_days` and `age_warning` added."""
    today = today or dt.date.today()
    limit = max_age_days() if limit is None else limit
    return [
        {
            **snapshot,
            "age_days": age_days(snapshot.get("as_of"), today),
            "age_warning": age_warning(snapshot["source"], snapshot.get("as_of"), today, limit),
        }
        for snapshot in snapshots
    ]


def ages_line(snapshots: list[dict[str, Any]]) -> str:
    """"uflpa #3 (as of 2026-08-03, 121 days old), ..." for records made by with_ages."""
    return ", ".join(
        f"{s['source']} #{s.get('snapshot_id')} (as of {s.get('as_of') or 'unknown'}"
        + (f", {s['age_days']} days old)" if s.get("age_days") is not None else ")")
        for s in snapshots
    )
