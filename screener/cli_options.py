"""The options several CLI commands share, defined once: database, rules, thresholds, list date, columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer


def list_date(text: str | dt.date) -> dt.date:
    """A calendar date written YYYY-MM-DD, refused in words otherwise."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it as year-month-day, YYYY-MM-DD (e.g. 2024-06-30)") from None


DbOption = Annotated[Optional[Path], typer.Option(
    "--db", metavar="FILE", help="Database file (default: $SCREENER_DB or the user data dir).")]
RulesOption = Annotated[Optional[list[Path]], typer.Option(
    "--rules", metavar="FILE", help="Extra rule file (TOML); repeatable.")]
MatchOption = Annotated[Optional[float], typer.Option(
    "--match-threshold", metavar="SCORE", help="Score (0-100) at which a name is flagged.")]
ReviewOption = Annotated[Optional[float], typer.Option(
    "--review-threshold", metavar="SCORE", help="Score (0-100) from which a name is shown for review.")]
AsOfOption = Annotated[Optional[dt.date], typer.Option(
    "--as-of", parser=list_date, metavar="YYYY-MM-DD",
    help="Screen against the listings in force on this date (listing, effective and end dates).",
)]
AnalystOption = Annotated[Optional[str], typer.Option(
    "--analyst", metavar="NAME", help="Who decides (default: $SCREENER_ANALYST or the login name).")]
NameColumnOption = Annotated[Optional[str], typer.Option(
    "--name-col", metavar="COLUMN", help="Column with the supplier name.")]
CountryColumnOption = Annotated[Optional[str], typer.Option(
    "--country-col", metavar="COLUMN", help="Column with the country.")]
SheetOption = Annotated[Optional[str], typer.Option(
    "--sheet", metavar="SHEET", help="Spreadsheet sheet (default: first non-empty).")]
